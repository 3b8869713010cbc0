"""What a consultant's console is told, read from the recorded events (so every replica and a
reconnecting browser see the same thing)."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import TicketRow
from tickets.telephony.lookup import CallerView, caller_view
from tickets.telephony.orm import CallEventRow, CallRow, TelephonyUserRow

REPLAY_WINDOW = dt.timedelta(minutes=2)
"""A browser that reconnects is given the events it missed, up to this old."""


class CallView(msgspec.Struct):
    id: int
    call_id: str
    state: str
    direction: str
    extension: str | None
    user_id: int | None
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_s: int | None
    ticket_id: int | None
    ticket_number: str | None


class PopMessage(msgspec.Struct):
    """One Server-Sent Event: `event` is ringing, answered or ended."""

    id: int
    event: str
    at: dt.datetime
    call: CallView
    caller: CallerView
    status: str | None
    """The consultant's status after the event."""


def call_view(session: Session, call: CallRow) -> CallView:
    ticket = session.get(TicketRow, call.ticket_id) if call.ticket_id else None
    return CallView(
        id=call.id,
        call_id=call.call_id,
        state=call.state,
        direction=call.direction,
        extension=call.extension,
        user_id=call.user_id,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        talk_s=call.talk_s,
        ticket_id=call.ticket_id,
        ticket_number=ticket.number if ticket else None,
    )


def pending_messages(
    session: Session, user_id: int, since: dt.datetime, sent: set[int]
) -> list[PopMessage]:
    """The user's events received since `since` that this stream has not sent yet."""
    events = session.scalars(
        select(CallEventRow)
        .where(CallEventRow.user_id == user_id, CallEventRow.received_at >= since)
        .order_by(CallEventRow.received_at, CallEventRow.id)
        .limit(100)
    )
    line = session.get(TelephonyUserRow, user_id)
    out: list[PopMessage] = []
    for event in events:
        if event.id in sent:
            continue
        call = session.scalar(select(CallRow).where(CallRow.call_id == event.call_id))
        if call is None:
            continue
        out.append(
            PopMessage(
                id=event.id,
                event=event.event,
                at=event.at,
                call=call_view(session, call),
                caller=caller_view(session, call.number_e164, call.number),
                status=line.status if line is not None else None,
            )
        )
    return out


def last_event_time(session: Session, event_id: int) -> dt.datetime | None:
    return session.scalar(select(CallEventRow.received_at).where(CallEventRow.id == event_id))
