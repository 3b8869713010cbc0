"""Call events from the PBX: ringing pops the caller, answered opens a ZT event with its
stopwatch, ended stops it. Idempotent per (call, event) and safe in any order."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tickets.accounts.auth import actor_of
from tickets.core import services
from tickets.core.orm import TicketRow, UserRow
from tickets.core.phone_numbers import digits, display, to_e164
from tickets.core.schemas import PhoneEventCreate
from tickets.telephony.callbacks import resolve_callbacks
from tickets.telephony.lookup import Party, find_party
from tickets.telephony.orm import CallEventRow, CallRow
from tickets.telephony.settings import TelephonySettings
from tickets.telephony.statuses import (
    AVAILABLE,
    ON_CALL,
    line_by_extension,
    line_of,
    settle_wrap_up,
)

EventKind = Literal["ringing", "answered", "ended"]


class CallEventIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What the PBX (or its forwarder) posts to `POST /api/telephony/events`."""

    call_id: Annotated[str, Meta(min_length=1, max_length=128)]
    event: EventKind
    caller: Annotated[str, Meta(max_length=64)] = ""
    """The outside party's number in any format; empty when withheld."""
    extension: Annotated[str, Meta(max_length=32)] = ""
    """The consultant's extension the call rings at / was answered at."""
    at: dt.datetime | None = None
    """When it happened at the PBX; default: when Sedno received it."""


class EventOutcome(msgspec.Struct):
    call_id: str
    event: str
    outcome: Literal["applied", "duplicate", "ignored"]
    """`duplicate`: this (call_id, event) came before; `ignored`: an internal call."""
    state: str | None = None
    ticket_id: int | None = None
    user_id: int | None = None


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def is_internal(number: str, settings: TelephonySettings) -> bool:
    """An extension calling: a number with digits, but fewer than the configured minimum."""
    count = len(digits(number))
    return 0 < count < settings.min_digits


def _user_of_extension(session: Session, extension: str) -> int | None:
    if not extension:
        return None
    line = line_by_extension(session, extension)
    return line.user_id if line is not None else None


def _attach_party(call: CallRow, party: Party) -> None:
    call.contact_id = party.contact.id if party.contact is not None else None
    call.client_id = party.client.id if party.client is not None else None
    call.partner_id = party.partner.id if party.partner is not None else None


def _call_for_update(session: Session, data: CallEventIn, at: dt.datetime) -> CallRow:
    call = session.scalar(select(CallRow).where(CallRow.call_id == data.call_id).with_for_update())
    if call is not None:
        return call
    e164 = to_e164(data.caller)
    call = CallRow(
        call_id=data.call_id,
        source="events",
        direction="inbound",
        number=data.caller.strip(),
        number_e164=e164,
        state="ringing",
        started_at=at,
    )
    _attach_party(call, find_party(session, e164))
    session.add(call)
    session.flush()
    return call


def _already_seen(session: Session, data: CallEventIn) -> bool:
    return (
        session.scalar(
            select(CallEventRow.id).where(
                CallEventRow.call_id == data.call_id, CallEventRow.event == data.event
            )
        )
        is not None
    )


def apply_call_event(
    session: Session, data: CallEventIn, settings: TelephonySettings, now: dt.datetime
) -> EventOutcome:
    """Record one PBX event and bring the call, the consultant's status and the ZT event in
    line with everything known about the call so far."""
    if is_internal(data.caller, settings):
        return EventOutcome(data.call_id, data.event, "ignored")
    at = _utc(data.at) if data.at is not None else now
    if _already_seen(session, data):
        return _outcome(session, data, "duplicate")
    try:
        with session.begin_nested():
            event = CallEventRow(call_id=data.call_id, event=data.event, at=at, received_at=now)
            session.add(event)
    except IntegrityError:
        # The same event is being recorded by a concurrent request: it is a repeat.
        return _outcome(session, data, "duplicate")
    call = _call_for_update(session, data, at)
    if data.extension and (data.event != "ringing" or call.extension is None):
        call.extension = data.extension
        call.user_id = _user_of_extension(session, data.extension) or call.user_id
    if data.event == "ringing":
        call.started_at = min(call.started_at, at)
        # A pop is only worth showing while the call still rings.
        event.user_id = call.user_id if call.state == "ringing" else None
    elif data.event == "answered":
        _on_answered(session, call, at, settings)
        event.user_id = call.user_id
    else:
        _on_ended(session, call, at, settings)
        event.user_id = call.user_id
    session.flush()
    return EventOutcome(
        data.call_id, data.event, "applied", call.state, call.ticket_id, call.user_id
    )


def _outcome(session: Session, data: CallEventIn, outcome: Literal["duplicate"]) -> EventOutcome:
    call = session.scalar(select(CallRow).where(CallRow.call_id == data.call_id))
    if call is None:
        return EventOutcome(data.call_id, data.event, outcome)
    return EventOutcome(data.call_id, data.event, outcome, call.state, call.ticket_id, call.user_id)


def _on_answered(
    session: Session, call: CallRow, at: dt.datetime, settings: TelephonySettings
) -> None:
    call.answered_at = at
    call.started_at = min(call.started_at, at)
    call.state = "ended" if call.ended_at is not None else "answered"
    if call.ended_at is not None:
        call.talk_s = max(0, int((call.ended_at - at).total_seconds()))
    if call.user_id is None:
        return
    if call.ticket_id is None:
        call.ticket_id = open_call_event(session, call, at).id
    if call.ended_at is not None:
        services.stop_all_timers(session, call.ticket_id, call.ended_at)
    line = line_of(session, call.user_id, for_update=True)
    settle_wrap_up(line, at)
    if line.status != ON_CALL:
        line.status = ON_CALL
        line.status_since = at
    line.on_call_id = call.id
    line.free_at = (
        call.ended_at + dt.timedelta(seconds=settings.wrap_up_s) if call.ended_at else None
    )
    if call.number_e164:
        resolve_callbacks(session, call.number_e164, at, call.user_id)


def _on_ended(
    session: Session, call: CallRow, at: dt.datetime, settings: TelephonySettings
) -> None:
    call.ended_at = at
    if call.answered_at is None:
        call.state = "missed"
        return
    call.state = "ended"
    call.talk_s = max(0, int((at - call.answered_at).total_seconds()))
    if call.ticket_id is not None:
        services.stop_all_timers(session, call.ticket_id, at)
    if call.user_id is None:
        return
    line = line_of(session, call.user_id, for_update=True)
    if line.on_call_id == call.id and line.status == ON_CALL:
        line.free_at = at + dt.timedelta(seconds=settings.wrap_up_s)
        if settings.wrap_up_s == 0:
            line.status, line.status_since = AVAILABLE, at
            line.on_call_id, line.free_at = None, None


def call_title(call: CallRow, party: Party) -> str:
    who = party.client.name if party.client is not None else None
    if party.contact is not None:
        who = f"{party.contact.name} ({who})" if who else party.contact.name
    number = display(call.number_e164) if call.number_e164 else (call.number or "numer zastrzeżony")
    return f"Połączenie: {who}" if who else f"Połączenie z {number}"


def open_call_event(session: Session, call: CallRow, at: dt.datetime) -> TicketRow:
    """The ZT event of an answered call, its stopwatch running from the answer."""
    user = session.get(UserRow, call.user_id)
    assert user is not None
    party = find_party(session, call.number_e164)
    number = display(call.number_e164) if call.number_e164 else (call.number or "zastrzeżony")
    ticket = services.register_phone_event(
        session,
        actor_of(user),
        PhoneEventCreate(
            title=call_title(call, party)[:500],
            description=f"Połączenie przychodzące z numeru {number}, wewnętrzny {call.extension}.",
            client_id=call.client_id,
            contact_id=call.contact_id,
        ),
    )
    timer = services.running_timer(session, user.id, ticket.id)
    if timer is not None:
        timer.started_at = at
    session.flush()
    return ticket
