"""Loading, seeding and editing ticket definitions and value dictionaries."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import DefinitionRow, DictionaryEntryRow
from tickets.domain.definitions import Definition, StateDef
from tickets.domain.errors import NotFound


def default_data() -> dict[str, Any]:
    text = resources.files("tickets.data").joinpath("definitions.default.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _definition_from_default(raw: dict[str, Any], labels: dict[str, list[str]]) -> Definition:
    states = tuple(
        StateDef(code, *(labels.get(code) or [code, code])[:2]) for code in raw["states"]
    )
    return Definition(
        code=raw["code"],
        name=raw["name"],
        kind=raw["kind"],
        number_pattern=raw["number_pattern"],
        states=states,
        transitions={k: tuple(v) for k, v in raw["transitions"].items()},
        initial_state=raw.get("initial_state", raw["states"][0]),
        final_states=tuple(raw["final_states"]),
        notify_states=tuple(raw.get("notify_states", ())),
    )


def default_definitions() -> list[Definition]:
    data = default_data()
    return [_definition_from_default(d, data["state_labels"]) for d in data["definitions"]]


def to_domain(row: DefinitionRow) -> Definition:
    return Definition(
        code=row.code,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        number_pattern=row.number_pattern,
        states=tuple(StateDef(**s) for s in row.states),
        transitions={k: tuple(v) for k, v in row.transitions.items()},
        initial_state=row.initial_state,
        final_states=tuple(row.final_states),
        notify_states=tuple(row.notify_states or ()),
    )


def write_definition(session: Session, definition: Definition) -> DefinitionRow:
    """Insert or replace a definition after checking it is consistent."""
    definition.validate()
    row = session.get(DefinitionRow, definition.code)
    if row is None:
        row = DefinitionRow(code=definition.code)
        session.add(row)
    row.name = definition.name
    row.kind = definition.kind
    row.number_pattern = definition.number_pattern
    row.states = [
        {"code": s.code, "label_pl": s.label_pl, "label_en": s.label_en} for s in definition.states
    ]
    row.transitions = {k: list(v) for k, v in definition.transitions.items()}
    row.initial_state = definition.initial_state
    row.final_states = list(definition.final_states)
    row.notify_states = list(definition.notify_states)
    session.flush()
    return row


def seed_defaults(session: Session) -> None:
    """Add the default definitions and dictionaries that are missing; never overwrite edits."""
    for definition in default_definitions():
        if session.get(DefinitionRow, definition.code) is None:
            write_definition(session, definition)
    existing = {(e.kind, e.value) for e in session.scalars(select(DictionaryEntryRow))}
    for kind, entries in default_data()["dictionaries"].items():
        for position, (value, label_pl, label_en) in enumerate(entries):
            if (kind, value) not in existing:
                session.add(
                    DictionaryEntryRow(
                        kind=kind,
                        value=value,
                        label_pl=label_pl,
                        label_en=label_en,
                        position=position,
                    )
                )
    session.flush()


def get_definition(session: Session, code: str) -> Definition:
    row = session.get(DefinitionRow, code.upper())
    if row is None:
        raise NotFound("definition", code)
    return to_domain(row)


def list_definitions(session: Session) -> list[Definition]:
    return [
        to_domain(r) for r in session.scalars(select(DefinitionRow).order_by(DefinitionRow.code))
    ]


def dictionary(session: Session, kind: str) -> list[DictionaryEntryRow]:
    return list(
        session.scalars(
            select(DictionaryEntryRow)
            .where(DictionaryEntryRow.kind == kind)
            .order_by(DictionaryEntryRow.position, DictionaryEntryRow.value)
        )
    )


def dictionary_values(session: Session, kind: str) -> set[str]:
    return {e.value for e in dictionary(session, kind)}
