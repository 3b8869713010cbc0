"""Deadlines of tasks (`due_from` … `due_to`) and the list of overdue ones."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import DefinitionRow, TicketRow
from tickets.domain.errors import ValidationFailed
from tickets.tasks.schemas import OverdueTask


def check_deadline(due_from: dt.datetime | None, due_to: dt.datetime | None) -> None:
    if due_from is not None and due_to is not None and due_to < due_from:
        raise ValidationFailed("due_to", "the deadline ends before it starts (due_from)")


def overdue_tasks(
    session: Session, now: dt.datetime, *, lead_consultant_id: int | None = None
) -> list[OverdueTask]:
    """Open tasks whose deadline has passed, the longest overdue first."""
    finals = {
        row.code: set(row.final_states)
        for row in session.scalars(select(DefinitionRow).where(DefinitionRow.kind == "task"))
    }
    query = (
        select(TicketRow)
        .where(
            TicketRow.due_to.is_not(None),
            TicketRow.due_to < now,
            TicketRow.definition_code.in_(finals),
        )
        .order_by(TicketRow.due_to, TicketRow.id)
    )
    if lead_consultant_id is not None:
        query = query.where(TicketRow.lead_consultant_id == lead_consultant_id)
    out = []
    for t in session.scalars(query):
        if t.state in finals[t.definition_code] or t.due_to is None:
            continue
        out.append(
            OverdueTask(
                id=t.id,
                number=t.number,
                title=t.title,
                state=t.state,
                lead_consultant_id=t.lead_consultant_id,
                due_from=t.due_from,
                due_to=t.due_to,
                overdue_s=int((now - t.due_to).total_seconds()),
            )
        )
    return out
