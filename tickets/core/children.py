"""Parents and children: a parent's progress, and the children still open."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.orm import TicketRow
from tickets.core.schemas import ChildrenProgress


def _children(session: Session, parent_id: int) -> list[TicketRow]:
    return list(
        session.scalars(
            select(TicketRow).where(TicketRow.parent_id == parent_id).order_by(TicketRow.id)
        )
    )


def _closed(session: Session, ticket: TicketRow) -> bool:
    return ticket.state in defs.get_definition(session, ticket.definition_code).final_states


def open_children(session: Session, parent_id: int) -> list[TicketRow]:
    """Children not yet completed or cancelled."""
    return [c for c in _children(session, parent_id) if not _closed(session, c)]


def progress(session: Session, parent_id: int) -> ChildrenProgress:
    children = _children(session, parent_id)
    done = sum(1 for c in children if _closed(session, c))
    return ChildrenProgress(done=done, total=len(children))
