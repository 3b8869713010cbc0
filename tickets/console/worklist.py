"""Ticket lists: "Moje zgłoszenia", open tickets with filters and sorting, overdue first."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tickets.core import definitions as defs
from tickets.core.client_warnings import warnings_for
from tickets.core.orm import ClientRow, TicketRow
from tickets.core.schemas import TicketSummary
from tickets.domain.definitions import Definition
from tickets.domain.numbering import parse_number

Sort = Literal["newest", "oldest", "priority", "updated"]
SORTS: Final[tuple[str, ...]] = ("newest", "oldest", "priority", "updated")
PRIORITY_RANK: Final = {"krytyczny": 0, "wysoki": 1, "normalny": 2, "niski": 3}
TARGET_HOURS: Final = {"krytyczny": 4, "wysoki": 24, "normalny": 72, "niski": 240}
"""How long an open ticket of each priority may wait before it is overdue (the usual
first-line targets of a service desk: 4 h, a day, three days, ten days)."""


class TicketFilter(msgspec.Struct, kw_only=True):
    """What a ticket list asks for; every field narrows it, none is required."""

    number: str | None = None
    state: str | None = None
    definition: str | None = None
    q: str | None = None
    client_id: int | None = None
    priority: str | None = None
    module: str | None = None
    assigned_to: int | None = None
    """Tickets where this user is the lead consultant or the second line."""
    second_line: int | None = None
    """Tickets where this user is the second line (`second_line=me`)."""
    project_id: int | None = None
    open_only: bool = False
    sort: Sort = "newest"
    overdue_first: bool = False
    limit: int = 50
    offset: int = 0


def _open_condition(definitions: dict[str, Definition]) -> ColumnElement[bool]:
    finals = {(d.code, state) for d in definitions.values() for state in d.final_states}
    if not finals:
        return ~false()
    return ~or_(
        *(and_(TicketRow.definition_code == c, TicketRow.state == s) for c, s in sorted(finals))
    )


def _overdue_condition(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        *(
            and_(TicketRow.priority == p, TicketRow.reported_at < now - dt.timedelta(hours=h))
            for p, h in TARGET_HOURS.items()
        )
    )


def find_tickets(
    session: Session, f: TicketFilter, now: dt.datetime, *, lang: str = "pl"
) -> tuple[list[TicketSummary], int]:
    """The tickets the filter names, one page of them, and how many there are in all."""
    definitions = {d.code: d for d in defs.list_definitions(session)}
    query = select(TicketRow)
    if f.number:
        parsed = parse_number(f.number)
        query = query.where(TicketRow.number == (str(parsed) if parsed else f.number.strip()))
    if f.state:
        query = query.where(TicketRow.state == f.state)
    if f.definition:
        query = query.where(TicketRow.definition_code == f.definition.upper())
    if f.client_id is not None:
        query = query.where(TicketRow.client_id == f.client_id)
    if f.priority:
        query = query.where(TicketRow.priority == f.priority)
    if f.module:
        query = query.where(func.lower(TicketRow.module) == f.module.strip().lower())
    if f.assigned_to is not None:
        query = query.where(
            or_(
                TicketRow.lead_consultant_id == f.assigned_to,
                TicketRow.second_line_id == f.assigned_to,
            )
        )
    if f.second_line is not None:
        query = query.where(TicketRow.second_line_id == f.second_line)
    if f.project_id is not None:
        query = query.where(TicketRow.project_id == f.project_id)
    if f.q:
        pattern = f"%{f.q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(TicketRow.title).like(pattern),
                func.lower(TicketRow.number).like(pattern),
            )
        )
    is_open = _open_condition(definitions)
    if f.open_only:
        query = query.where(is_open)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    overdue = and_(is_open, _overdue_condition(now))
    order: list[Any] = []
    if f.overdue_first:
        order.append(case((overdue, 0), else_=1))
    if f.sort == "priority":
        order.append(case(PRIORITY_RANK, value=TicketRow.priority, else_=9))
        order.append(TicketRow.reported_at)
    elif f.sort == "oldest":
        order.append(TicketRow.reported_at)
    elif f.sort == "updated":
        order.append(TicketRow.updated_at.desc())
    order.append(TicketRow.id.desc() if f.sort != "oldest" else TicketRow.id)
    rows = list(session.scalars(query.order_by(*order).limit(f.limit).offset(f.offset)))
    overdue_ids = (
        set(
            session.scalars(
                select(TicketRow.id).where(TicketRow.id.in_([r.id for r in rows]), overdue)
            )
        )
        if rows
        else set()
    )
    clients = {
        c.id: c
        for c in session.scalars(
            select(ClientRow).where(ClientRow.id.in_({r.client_id for r in rows if r.client_id}))
        )
    }
    items = [
        _summary(t, clients.get(t.client_id or 0), definitions, t.id in overdue_ids, lang)
        for t in rows
    ]
    return items, int(total)


def _summary(
    t: TicketRow,
    client: ClientRow | None,
    definitions: dict[str, Definition],
    overdue: bool,
    lang: str,
) -> TicketSummary:
    definition = definitions.get(t.definition_code)
    return TicketSummary(
        id=t.id,
        number=t.number,
        definition=t.definition_code,
        state=t.state,
        resolution=t.resolution,
        title=t.title,
        client_id=t.client_id,
        product=t.product,
        module=t.module,
        priority=t.priority,
        reported_at=t.reported_at,
        completed_at=t.completed_at,
        warnings=warnings_for(client, client.partner if client else None),
        state_label=definition.label(t.state, lang) if definition else t.state,
        lead_consultant_id=t.lead_consultant_id,
        second_line_id=t.second_line_id,
        overdue=overdue,
    )
