"""Assignments of a ticket's lead consultant by someone else, each waiting for the assignee's
answer: the table, opening one, and finding the current one. Answering lives in
`tickets.assignments`; the notice dispatcher opens an assignment where it sees one."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.core.db import Base, utcnow
from tickets.core.orm import UserRow
from tickets.core.schemas import AssignmentView


class AssignmentRow(Base):
    """One assignment of a ticket's lead to a user by someone else, with its answer.

    The latest row of a ticket is its current assignment; an earlier one still pending can
    no longer be answered (the ticket went to someone else since)."""

    __tablename__ = "ticket_assignments"
    __table_args__ = (Index("ix_ticket_assignments_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """None when the system assigned (a schedule, intake)."""
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, confirmed, rejected."""
    assigned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    answered_via: Mapped[str] = mapped_column(String(16), default="")
    """link, mail or console."""
    reason: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    """The signed Message-ID of the mail to the assignee, so that a reply finds its row."""


def open_assignment(
    session: Session, ticket_id: int, assignee_id: int, assigned_by_id: int | None
) -> AssignmentRow:
    """A new pending assignment; it becomes the ticket's current one."""
    row = AssignmentRow(ticket_id=ticket_id, assignee_id=assignee_id, assigned_by_id=assigned_by_id)
    session.add(row)
    return row


def current_assignment(session: Session, ticket_id: int) -> AssignmentRow | None:
    """The ticket's latest assignment (answered or not), or None."""
    with session.no_autoflush:
        return session.scalar(
            select(AssignmentRow)
            .where(AssignmentRow.ticket_id == ticket_id)
            .order_by(AssignmentRow.id.desc())
            .limit(1)
        )


def pending_for(session: Session, ticket_id: int, assignee_id: int) -> AssignmentRow | None:
    """The current assignment when it still waits for this user's answer."""
    row = current_assignment(session, ticket_id)
    if row is None or row.assignee_id != assignee_id or row.state != "pending":
        return None
    return row


def by_message_ids(session: Session, ids: list[str]) -> AssignmentRow | None:
    """The assignment whose mail one of these Message-IDs names (the newest first)."""
    if not ids:
        return None
    return session.scalar(
        select(AssignmentRow)
        .where(AssignmentRow.message_id.in_(ids[:50]))
        .order_by(AssignmentRow.id.desc())
        .limit(1)
    )


def assignment_view(session: Session, ticket_id: int) -> AssignmentView | None:
    """The current assignment as the API shows it."""
    row = current_assignment(session, ticket_id)
    if row is None:
        return None
    names = {
        u.id: u.name
        for u in (session.get(UserRow, i) for i in {row.assignee_id, row.assigned_by_id} if i)
        if u is not None
    }
    return AssignmentView(
        id=row.id,
        state=row.state,  # type: ignore[arg-type]
        assignee_id=row.assignee_id,
        assignee_name=names.get(row.assignee_id, ""),
        assigned_by_id=row.assigned_by_id,
        assigned_by_name=names.get(row.assigned_by_id) if row.assigned_by_id else None,
        assigned_at=row.assigned_at,
        answered_at=row.answered_at,
        answered_via=row.answered_via,
        reason=row.reason,
    )
