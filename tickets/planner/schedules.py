"""Recurring service schedules: create, change, list, look ahead, and make their tickets once.

A ticket is made `lead_days` before each due date, once: the occurrence key (schedule, due date)
is claimed with an insert that loses quietly to an earlier one, in the transaction that creates
the ticket, and the schedule row is locked while its next due date moves on. However many
workers run the job at once, each due date gets one ticket. A worker that was down catches up
(a due date whose creation date has passed still gets its ticket); only the due dates that were
already past when the schedule was created, resumed or re-planned are skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.db import Database
from tickets.core.orm import ClientRow, ContactRow, DictionaryEntryRow, UserRow
from tickets.core.schemas import Actor, TicketCreate
from tickets.core.services import create_ticket
from tickets.domain.errors import NotFound, ValidationFailed
from tickets.planner import recurrence
from tickets.planner.orm import ScheduleOccurrenceRow, ServiceScheduleRow
from tickets.planner.schemas import (
    TICKET_FIELDS,
    ScheduleCreate,
    SchedulePatch,
    ScheduleView,
    UpcomingItem,
)
from tickets.planner.settings import PlannerSettings

log = logging.getLogger("sedno.planner")

SERVICE_REVIEW: Final = "service_review"
SCHEDULE_ACTOR: Final = Actor(None, "service schedule")


def ensure_service_review_type(session: Session) -> None:
    """The ticket type "przegląd serwisowy", added to the type dictionary when missing."""
    if SERVICE_REVIEW in defs.dictionary_values(session, "type"):
        return
    session.add(
        DictionaryEntryRow(
            kind="type",
            value=SERVICE_REVIEW,
            label_pl="Przegląd serwisowy",
            label_en="Service review",
            position=100,
        )
    )
    session.flush()


def _check_refs(session: Session, data: ScheduleCreate) -> None:
    if session.get(ClientRow, data.client_id) is None:
        raise ValidationFailed("client_id", f"no such client: {data.client_id}")
    if data.operator_id is not None and session.get(UserRow, data.operator_id) is None:
        raise ValidationFailed("operator_id", f"no such user: {data.operator_id}")
    if data.contact_id is not None and session.get(ContactRow, data.contact_id) is None:
        raise ValidationFailed("contact_id", f"no such contact: {data.contact_id}")
    try:
        definition = defs.get_definition(session, data.definition)
    except NotFound:
        raise ValidationFailed("definition", f"no such definition: {data.definition}") from None
    if definition.kind != "task":
        raise ValidationFailed("definition", f"{definition.code} is not a task definition")
    ensure_service_review_type(session)
    for field in ("type", "product"):
        value = getattr(data, field)
        allowed = defs.dictionary_values(session, field)
        if value and allowed and value not in allowed:
            raise ValidationFailed(field, f"{value!r} is not one of {', '.join(sorted(allowed))}")
    if data.end_date is not None and data.end_date < data.start_date:
        raise ValidationFailed("end_date", "the end date is before the start date")


def _plan_from(row: ServiceScheduleRow, today: dt.date) -> None:
    """Point `next_due` at the first due date not in the past (creation, resume, re-plan)."""
    row.next_due = recurrence.first_due_on_or_after(
        row.start_date, _every(row), today, row.end_date
    )


def create_schedule(
    session: Session, actor: Actor, data: ScheduleCreate, today: dt.date
) -> ServiceScheduleRow:
    _check_refs(session, data)
    row = ServiceScheduleRow(
        client_id=data.client_id,
        title=data.title,
        description=data.description,
        definition_code=data.definition.upper(),
        every=data.every,
        start_date=data.start_date,
        end_date=data.end_date,
        lead_days=data.lead_days,
        operator_id=data.operator_id,
        ticket_fields={f: getattr(data, f) for f in TICKET_FIELDS},
        created_by_id=actor.user_id,
    )
    _plan_from(row, today)
    session.add(row)
    session.flush()
    return row


def get_schedule(
    session: Session, schedule_id: int, *, for_update: bool = False
) -> ServiceScheduleRow:
    row = session.get(ServiceScheduleRow, schedule_id, with_for_update=for_update or None)
    if row is None:
        raise NotFound("schedule", schedule_id)
    return row


def update_schedule(
    session: Session, schedule_id: int, patch: SchedulePatch, today: dt.date
) -> ServiceScheduleRow:
    row = get_schedule(session, schedule_id, for_update=True)
    changes = {f: getattr(patch, f) for f in patch.__struct_fields__}
    changes = {k: v for k, v in changes.items() if v is not msgspec.UNSET}
    new_operator = changes.get("operator_id")
    if new_operator is not None and session.get(UserRow, new_operator) is None:
        raise ValidationFailed("operator_id", f"no such user: {changes['operator_id']}")
    end = changes.get("end_date", row.end_date)
    start = changes.get("start_date", row.start_date)
    if end is not None and end < start:
        raise ValidationFailed("end_date", "the end date is before the start date")
    resumed = row.paused and changes.get("paused") is False
    for field, value in changes.items():
        setattr(row, field, value)
    if resumed or {"every", "start_date", "end_date"} & changes.keys():
        _plan_from(row, today)
    session.flush()
    return row


def list_schedules(session: Session, client_id: int | None = None) -> list[ServiceScheduleRow]:
    query = select(ServiceScheduleRow).order_by(ServiceScheduleRow.id)
    if client_id is not None:
        query = query.where(ServiceScheduleRow.client_id == client_id)
    return list(session.scalars(query))


def schedule_view(row: ServiceScheduleRow) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        client_id=row.client_id,
        title=row.title,
        description=row.description,
        definition=row.definition_code,
        every=row.every,
        start_date=row.start_date,
        end_date=row.end_date,
        lead_days=row.lead_days,
        operator_id=row.operator_id,
        paused=row.paused,
        next_due=row.next_due,
        next_creation=(
            recurrence.creation_date(row.next_due, row.lead_days) if row.next_due else None
        ),
        ticket_fields=dict(row.ticket_fields),
    )


def _every(row: ServiceScheduleRow) -> recurrence.Every:
    """The stored period, as the API checked it on the way in."""
    return row.every  # type: ignore[return-value]


def upcoming(row: ServiceScheduleRow, count: int) -> list[UpcomingItem]:
    """The next `count` due dates that have no ticket yet, with the day each ticket is made."""
    if row.next_due is None:
        return []
    items: list[UpcomingItem] = []
    for day in recurrence.due_dates(row.start_date, _every(row), row.end_date):
        if day < row.next_due:
            continue
        items.append(
            UpcomingItem(due_date=day, creation_date=recurrence.creation_date(day, row.lead_days))
        )
        if len(items) >= count:
            break
    return items


def _claim_occurrence(session: Session, schedule_id: int, due: dt.date, worker: str) -> bool:
    """Insert (schedule, due date) unless present; True for the one caller whose insert won."""
    values = {"schedule_id": schedule_id, "due_date": due, "worker": worker[:200]}
    if session.get_bind().dialect.name == "postgresql":
        stmt: Any = pg_insert(ScheduleOccurrenceRow).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(ScheduleOccurrenceRow).values(values).on_conflict_do_nothing()
    returning = stmt.returning(ScheduleOccurrenceRow.schedule_id)
    return session.execute(returning).first() is not None


def _ticket_for(row: ServiceScheduleRow, due: dt.date) -> TicketCreate:
    fields = {k: v for k, v in row.ticket_fields.items() if k in TICKET_FIELDS}
    description = row.description
    due_line = f"Termin przeglądu: {due.isoformat()}"
    return msgspec.convert(
        {
            **fields,
            "definition": row.definition_code,
            "title": f"{row.title} ({due.isoformat()})"[:500],
            "description": f"{description}\n\n{due_line}".strip(),
            "client_id": row.client_id,
            "lead_consultant_id": row.operator_id,
        },
        TicketCreate,
    )


def make_due_ticket(session: Session, schedule_id: int, today: dt.date, worker: str) -> int | None:
    """Make the ticket of the schedule's next due date when its creation day has come, once;
    returns the new ticket's id (None when nothing was due or another worker made it)."""
    row = get_schedule(session, schedule_id, for_update=True)
    due = row.next_due
    if row.paused or due is None or recurrence.creation_date(due, row.lead_days) > today:
        return None
    ticket_id = None
    if _claim_occurrence(session, row.id, due, worker):
        ensure_service_review_type(session)
        ticket = create_ticket(session, SCHEDULE_ACTOR, _ticket_for(row, due))
        occurrence = session.get(ScheduleOccurrenceRow, (row.id, due))
        assert occurrence is not None
        occurrence.ticket_id = ticket.id
        ticket_id = ticket.id
        log.info("schedule %s: ticket %s for the due date %s", row.id, ticket.number, due)
    row.next_due = recurrence.first_due_on_or_after(
        row.start_date, _every(row), due + dt.timedelta(days=1), row.end_date
    )
    session.flush()
    return ticket_id


def due_schedule_ids(session: Session, today: dt.date) -> list[int]:
    """Schedules whose next ticket should exist by `today`."""
    rows = session.execute(
        select(ServiceScheduleRow.id, ServiceScheduleRow.next_due, ServiceScheduleRow.lead_days)
        .where(ServiceScheduleRow.paused.is_(False), ServiceScheduleRow.next_due.is_not(None))
        .order_by(ServiceScheduleRow.next_due)
    ).all()
    return [i for i, due, lead in rows if due and recurrence.creation_date(due, lead) <= today]


def make_due_tickets(db: Database, today: dt.date, worker: str) -> list[int]:
    """Every ticket due by `today`, one transaction each (a failing schedule stops only
    itself); returns the ids of the tickets made."""
    made: list[int] = []
    with db.read() as session:
        ids = due_schedule_ids(session, today)
    for schedule_id in ids:
        for _ in range(1000):  # catching up after an outage: every due date missed, in order
            try:
                with db.transaction() as session:
                    ticket_id = make_due_ticket(session, schedule_id, today, worker)
                    more = _still_due(session, schedule_id, today)
            except Exception:
                log.exception(
                    "schedule %s: the due ticket could not be made; next tick", schedule_id
                )
                break
            if ticket_id is not None:
                made.append(ticket_id)
            if not more:
                break
    return made


def _still_due(session: Session, schedule_id: int, today: dt.date) -> bool:
    row = session.get(ServiceScheduleRow, schedule_id)
    return (
        row is not None
        and not row.paused
        and row.next_due is not None
        and recurrence.creation_date(row.next_due, row.lead_days) <= today
    )


def run_schedules(
    db: Database, settings: PlannerSettings, now: dt.datetime, worker: str = ""
) -> list[int]:
    """The scheduled job (every minute, in every worker): the tickets whose creation day has
    come in the desk's time zone."""
    return make_due_tickets(db, now.astimezone(settings.zone).date(), worker)
