"""An operator's to-do list: the day's appointments and the tasks due soon."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.orm import ClientRow, TicketRow
from tickets.planner import calendars
from tickets.planner.appointments import appointment_views, appointments_between
from tickets.planner.orm import ScheduleOccurrenceRow
from tickets.planner.schemas import Todo, TodoTask
from tickets.planner.settings import PlannerSettings


def day_bounds(
    settings: PlannerSettings, day: dt.date, days: int = 1
) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of `days` local days from `day`."""
    start = dt.datetime.combine(day, dt.time(), settings.zone)
    end = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), settings.zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def open_states(session: Session) -> dict[str, set[str]]:
    """Per definition, its states that are not final."""
    return {
        d.code: set(d.state_codes()) - set(d.final_states) for d in defs.list_definitions(session)
    }


def due_tasks(
    session: Session, settings: PlannerSettings, operator_id: int, day: dt.date
) -> list[TodoTask]:
    """Open tickets of the operator with a due date (from a schedule) within the next days,
    overdue ones included, earliest first."""
    horizon = day + dt.timedelta(days=settings.due_soon_days)
    rows = session.execute(
        select(TicketRow, ScheduleOccurrenceRow.due_date, ClientRow.name)
        .join(ScheduleOccurrenceRow, ScheduleOccurrenceRow.ticket_id == TicketRow.id)
        .outerjoin(ClientRow, ClientRow.id == TicketRow.client_id)
        .where(
            TicketRow.lead_consultant_id == operator_id, ScheduleOccurrenceRow.due_date <= horizon
        )
        .order_by(ScheduleOccurrenceRow.due_date, TicketRow.id)
    ).all()
    states = open_states(session)
    return [
        TodoTask(
            ticket_id=t.id,
            number=t.number,
            title=t.title,
            state=t.state,
            client_name=client or "",
            due_date=due,
        )
        for t, due, client in rows
        if t.state in states.get(t.definition_code, set())
    ]


def todo(session: Session, settings: PlannerSettings, operator_id: int, day: dt.date) -> Todo:
    calendars.operator(session, operator_id, field="operator_id")
    first, last = day_bounds(settings, day)
    rows = appointments_between(session, first, last, [operator_id])
    return Todo(
        operator_id=operator_id,
        date=day,
        appointments=appointment_views(session, settings, rows),
        due=due_tasks(session, settings, operator_id, day),
    )
