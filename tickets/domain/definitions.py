"""Ticket definitions as data and the state machine that follows them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from tickets.domain.errors import InvalidTransition, ValidationFailed

Kind = Literal["task", "event"]
RESOLUTIONS = ("resolved", "rejected")


class StateDef(msgspec.Struct, frozen=True):
    code: str
    label_pl: str
    label_en: str


class Definition(msgspec.Struct, frozen=True):
    """A ticket definition: ZS, ZW, KOM, SZ, ZT or one an admin adds."""

    code: str
    name: str
    kind: Kind
    number_pattern: str
    states: tuple[StateDef, ...]
    transitions: dict[str, tuple[str, ...]]
    initial_state: str
    final_states: tuple[str, ...]
    notify_states: tuple[str, ...] = ()

    def state_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.states)

    def allowed_from(self, state: str) -> tuple[str, ...]:
        return tuple(self.transitions.get(state, ()))

    def label(self, state: str, lang: str = "pl") -> str:
        for s in self.states:
            if s.code == state:
                return s.label_pl if lang == "pl" else s.label_en
        return state

    def format_number(self, year: int, n: int) -> str:
        return self.number_pattern.format(code=self.code, year=year, n=n)

    def validate(self) -> None:
        """Raise ValidationFailed when the definition is inconsistent."""
        codes = self.state_codes()
        if not codes:
            raise ValidationFailed("states", "at least one state is needed")
        if len(set(codes)) != len(codes):
            raise ValidationFailed("states", "state codes must be unique")
        if self.initial_state not in codes:
            raise ValidationFailed("initial_state", f"{self.initial_state!r} is not a state")
        for state in self.final_states:
            if state not in codes:
                raise ValidationFailed("final_states", f"{state!r} is not a state")
        for source, targets in self.transitions.items():
            if source not in codes:
                raise ValidationFailed("transitions", f"{source!r} is not a state")
            for target in targets:
                if target not in codes:
                    raise ValidationFailed("transitions", f"{target!r} is not a state")
        if "{n}" not in self.number_pattern:
            raise ValidationFailed("number_pattern", "must contain {n}")
        try:
            self.format_number(2026, 1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValidationFailed("number_pattern", f"bad pattern: {exc}") from exc


class StateChanged(msgspec.Struct, frozen=True):
    """The event a successful transition causes."""

    definition: str
    old: str
    new: str
    resolution: str | None
    reopened: bool
    completed: bool
    at: dt.datetime


def transition(
    definition: Definition,
    current: str,
    target: str,
    *,
    resolution: str | None = None,
    at: dt.datetime | None = None,
) -> StateChanged:
    """Return the event of moving `current` → `target`, or raise InvalidTransition."""
    allowed = definition.allowed_from(current)
    if target not in allowed:
        raise InvalidTransition(current, target, allowed)
    completed = target == "completed"
    if completed and definition.kind == "task":
        resolution = resolution or "resolved"
        if resolution not in RESOLUTIONS:
            raise ValidationFailed("resolution", f"must be one of {', '.join(RESOLUTIONS)}")
    elif not completed:
        resolution = None
    return StateChanged(
        definition=definition.code,
        old=current,
        new=target,
        resolution=resolution,
        reopened=current in definition.final_states and target not in definition.final_states,
        completed=completed,
        at=at or dt.datetime.now(dt.UTC),
    )
