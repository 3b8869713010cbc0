"""A user's in-app notices: the list behind the bell, marking them read."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tickets.core.db import utcnow
from tickets.core.orm import TicketRow
from tickets.domain.errors import NotFound
from tickets.notices.orm import NoticeRow


class NoticeView(msgspec.Struct):
    id: int
    event: str
    ticket_id: int | None
    ticket_number: str | None
    title: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NoticeList(msgspec.Struct):
    items: list[NoticeView]
    unread: int
    """The caller's unread notices in all (the bell's count)."""


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(NoticeRow)
            .where(NoticeRow.user_id == user_id, NoticeRow.read_at.is_(None))
        )
        or 0
    )


def list_notices(session: Session, user_id: int, *, unread_only: bool, limit: int) -> NoticeList:
    query = (
        select(NoticeRow, TicketRow.number)
        .outerjoin(TicketRow, TicketRow.id == NoticeRow.ticket_id)
        .where(NoticeRow.user_id == user_id)
    )
    if unread_only:
        query = query.where(NoticeRow.read_at.is_(None))
    rows = session.execute(query.order_by(NoticeRow.id.desc()).limit(limit))
    items = [
        NoticeView(n.id, n.event, n.ticket_id, number, n.title, n.body, n.created_at, n.read_at)
        for n, number in rows
    ]
    return NoticeList(items=items, unread=unread_count(session, user_id))


def mark_read(session: Session, user_id: int, notice_id: int | None) -> int:
    """Mark one notice (or, with None, all) of the user read; the unread count after."""
    query = update(NoticeRow).where(NoticeRow.user_id == user_id, NoticeRow.read_at.is_(None))
    if notice_id is not None:
        notice = session.get(NoticeRow, notice_id)
        if notice is None or notice.user_id != user_id:
            raise NotFound("notice", notice_id)
        query = query.where(NoticeRow.id == notice_id)
    session.execute(query.values(read_at=utcnow()))
    session.flush()
    return unread_count(session, user_id)
