"""Booking, moving, resizing and cancelling appointments, with the overlap and availability
rules checked under the operator's calendar lock (one booking per operator at a time)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import ClientRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.schemas import Actor
from tickets.core.services import get_ticket, record
from tickets.domain.errors import Conflict, NotFound, ValidationFailed
from tickets.planner import calendars
from tickets.planner.availability import parse_time, parse_weekly_hours, unavailable_reason
from tickets.planner.orm import AppointmentRow, OperatorCalendarRow
from tickets.planner.schemas import (
    AppointmentCreate,
    AppointmentPatch,
    AppointmentView,
)
from tickets.planner.settings import PlannerSettings

APPOINTMENT_MAIL_JOB: Final = "planner.appointment_mail"
ACTIVE: Final = ("scheduled", "done")
"""Appointments that hold their time (a cancelled one frees it)."""
MAX_LENGTH: Final = dt.timedelta(hours=24)


def activity_length(settings: PlannerSettings, ticket: TicketRow) -> dt.timedelta:
    """How long the ticket's kind of work takes, from its type."""
    return dt.timedelta(
        minutes=settings.activity_minutes.get(ticket.type, settings.default_minutes)
    )


def _span(
    settings: PlannerSettings,
    ticket: TicketRow,
    start_utc: dt.datetime,
    end_utc: dt.datetime | None,
) -> tuple[dt.datetime, dt.datetime]:
    if end_utc is None:
        end_utc = start_utc + activity_length(settings, ticket)
    if end_utc <= start_utc:
        raise ValidationFailed("end", "the end is not after the start")
    if end_utc - start_utc > MAX_LENGTH:
        raise ValidationFailed("end", "an appointment lasts at most 24 hours")
    return start_utc, end_utc


def _check_competence(calendar: OperatorCalendarRow, ticket: TicketRow) -> None:
    wanted = {w for w in (ticket.type, ticket.module) if w}
    if calendar.competences and not wanted & set(calendar.competences):
        raise Conflict(
            f"operator {calendar.user_id} does not do {', '.join(sorted(wanted)) or 'this work'}"
            f" (competences: {', '.join(calendar.competences)})",
            "operator-not-competent",
        )


def _check_available(
    session: Session,
    settings: PlannerSettings,
    calendar: OperatorCalendarRow,
    start: dt.datetime,
    end: dt.datetime,
) -> None:
    local_first = start.astimezone(settings.zone).date()
    local_last = end.astimezone(settings.zone).date()
    reason = unavailable_reason(
        start,
        end,
        settings.zone,
        parse_weekly_hours(calendar.weekly_hours),
        calendars.closed_days(session, settings.holiday_country, local_first, local_last),
        calendars.stored_absences(calendar),
    )
    if reason is not None:
        raise Conflict(
            f"operator {calendar.user_id} is not available: {reason}", "operator-unavailable"
        )


def overlapping(
    session: Session,
    operator_id: int,
    start: dt.datetime,
    end: dt.datetime,
    exclude_id: int | None = None,
) -> AppointmentRow | None:
    query = select(AppointmentRow).where(
        AppointmentRow.operator_id == operator_id,
        AppointmentRow.status.in_(ACTIVE),
        AppointmentRow.starts_at < end,
        AppointmentRow.ends_at > start,
    )
    if exclude_id is not None:
        query = query.where(AppointmentRow.id != exclude_id)
    return session.scalars(query.limit(1)).first()


def _check_free(
    session: Session, operator_id: int, start: dt.datetime, end: dt.datetime, exclude_id: int | None
) -> None:
    other = overlapping(session, operator_id, start, end, exclude_id)
    if other is not None:
        raise Conflict(
            f"operator {operator_id} already has appointment {other.id} from"
            f" {other.starts_at.isoformat()} to {other.ends_at.isoformat()}",
            "appointment-overlap",
        )


def _check_slot(
    session: Session,
    settings: PlannerSettings,
    ticket: TicketRow,
    operator_id: int,
    start: dt.datetime,
    end: dt.datetime,
    exclude_id: int | None = None,
) -> None:
    calendars.operator(session, operator_id, field="operator_id")
    calendar = calendars.lock_calendar(session, settings, operator_id)
    _check_competence(calendar, ticket)
    _check_available(session, settings, calendar, start, end)
    _check_free(session, operator_id, start, end, exclude_id)


def _queue_mail(session: Session, row: AppointmentRow, action: str) -> None:
    if row.notify:
        payload = {"appointment_id": row.id, "action": action, "sequence": row.sequence}
        enqueue(session, APPOINTMENT_MAIL_JOB, payload)


def book_appointment(
    session: Session, settings: PlannerSettings, actor: Actor, data: AppointmentCreate
) -> AppointmentRow:
    """Book the slot or raise Conflict (`appointment-overlap`, `operator-unavailable`)."""
    try:
        ticket = get_ticket(session, data.ticket_id)
    except NotFound:
        raise ValidationFailed("ticket_id", f"no such ticket: {data.ticket_id}") from None
    start = parse_time(data.start, settings.zone, "start")
    end = parse_time(data.end, settings.zone, "end") if data.end is not None else None
    start, end = _span(settings, ticket, start, end)
    _check_slot(session, settings, ticket, data.operator_id, start, end)
    row = AppointmentRow(
        ticket_id=ticket.id,
        operator_id=data.operator_id,
        starts_at=start,
        ends_at=end,
        notify=data.notify,
        notify_emails=sorted({e.strip().lower() for e in data.notify_emails}),
        language=data.language or settings.mail_language,
        note=data.note,
        created_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(session, ticket, actor, "appointment", new=_when(settings, row), note="zaplanowano")
    _queue_mail(session, row, "created")
    return row


def get_appointment(
    session: Session, appointment_id: int, *, for_update: bool = False
) -> AppointmentRow:
    row = session.get(AppointmentRow, appointment_id, with_for_update=for_update or None)
    if row is None:
        raise NotFound("appointment", appointment_id)
    return row


def move_appointment(
    session: Session,
    settings: PlannerSettings,
    actor: Actor,
    appointment_id: int,
    patch: AppointmentPatch,
) -> AppointmentRow:
    """Move, resize or reassign: the same checks as booking, against the others only."""
    row = get_appointment(session, appointment_id, for_update=True)
    if row.status != "scheduled":
        raise Conflict(f"appointment {row.id} is {row.status}", "appointment-closed")
    ticket = get_ticket(session, row.ticket_id)
    start = (
        parse_time(patch.start, settings.zone, "start")
        if isinstance(patch.start, str)
        else row.starts_at
    )
    if isinstance(patch.end, str):
        end = parse_time(patch.end, settings.zone, "end")
    else:  # moved without an end: keep the length
        end = start + (row.ends_at - row.starts_at)
    start, end = _span(settings, ticket, start, end)
    operator_id = patch.operator_id if isinstance(patch.operator_id, int) else row.operator_id
    if isinstance(patch.notify, bool):
        row.notify = patch.notify
    if isinstance(patch.note, str):
        row.note = patch.note
    if (start, end, operator_id) == (row.starts_at, row.ends_at, row.operator_id):
        session.flush()
        return row
    _check_slot(session, settings, ticket, operator_id, start, end, exclude_id=row.id)
    old = _when(settings, row)
    row.starts_at, row.ends_at, row.operator_id = start, end, operator_id
    row.sequence += 1
    session.flush()
    record(
        session,
        ticket,
        actor,
        "appointment",
        old=old,
        new=_when(settings, row),
        note="przeniesiono",
    )
    _queue_mail(session, row, "moved")
    return row


def cancel_appointment(
    session: Session, settings: PlannerSettings, actor: Actor, appointment_id: int
) -> AppointmentRow:
    row = get_appointment(session, appointment_id, for_update=True)
    if row.status == "cancelled":
        return row
    row.status = "cancelled"
    row.sequence += 1
    session.flush()
    ticket = get_ticket(session, row.ticket_id)
    record(session, ticket, actor, "appointment", old=_when(settings, row), note="odwołano")
    _queue_mail(session, row, "cancelled")
    return row


def mark_done(
    session: Session, appointment_id: int, done: bool, now: dt.datetime
) -> AppointmentRow:
    """Check an appointment off the to-do list (or back on)."""
    row = get_appointment(session, appointment_id, for_update=True)
    if row.status == "cancelled":
        raise Conflict(f"appointment {row.id} is cancelled", "appointment-closed")
    row.status, row.done_at = ("done", now) if done else ("scheduled", None)
    session.flush()
    return row


def _when(settings: PlannerSettings, row: AppointmentRow) -> str:
    start = row.starts_at.astimezone(settings.zone)
    end = row.ends_at.astimezone(settings.zone)
    return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} (operator {row.operator_id})"


def appointments_between(
    session: Session,
    first: dt.datetime,
    last: dt.datetime,
    operator_ids: list[int] | None = None,
) -> list[AppointmentRow]:
    query = (
        select(AppointmentRow)
        .where(
            AppointmentRow.status.in_(ACTIVE),
            AppointmentRow.starts_at < last,
            AppointmentRow.ends_at > first,
        )
        .order_by(AppointmentRow.starts_at, AppointmentRow.id)
    )
    if operator_ids is not None:
        query = query.where(AppointmentRow.operator_id.in_(operator_ids))
    return list(session.scalars(query))


def appointment_views(
    session: Session, settings: PlannerSettings, rows: list[AppointmentRow]
) -> list[AppointmentView]:
    tickets = {
        t.id: t
        for t in session.scalars(
            select(TicketRow).where(TicketRow.id.in_({r.ticket_id for r in rows}))
        )
    }
    client_ids = {t.client_id for t in tickets.values() if t.client_id}
    clients = {
        c.id: c.name for c in session.scalars(select(ClientRow).where(ClientRow.id.in_(client_ids)))
    }
    out = []
    for row in rows:
        ticket = tickets[row.ticket_id]
        out.append(
            AppointmentView(
                id=row.id,
                ticket_id=row.ticket_id,
                ticket_number=ticket.number,
                ticket_title=ticket.title,
                ticket_state=ticket.state,
                client_name=clients.get(ticket.client_id or 0, ""),
                operator_id=row.operator_id,
                start=row.starts_at,
                end=row.ends_at,
                start_local=row.starts_at.astimezone(settings.zone),
                end_local=row.ends_at.astimezone(settings.zone),
                status=row.status,
                sequence=row.sequence,
                note=row.note,
            )
        )
    return out
