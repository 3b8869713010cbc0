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
    """Open tickets of the operator due within the next days, overdue ones included, earliest
    first: due by a schedule's occurrence or by the task's own deadline (`due_to`), whichever
    is earlier."""
    horizon = day + dt.timedelta(days=settings.due_soon_days)
    _, horizon_end = day_bounds(settings, horizon)
    scheduled = session.execute(
        select(TicketRow.id, ScheduleOccurrenceRow.due_date)
        .join(ScheduleOccurrenceRow, ScheduleOccurrenceRow.ticket_id == TicketRow.id)
        .where(
            TicketRow.lead_consultant_id == operator_id, ScheduleOccurrenceRow.due_date <= horizon
        )
    ).all()
    deadlines = session.execute(
        select(TicketRow.id, TicketRow.due_to).where(
            TicketRow.lead_consultant_id == operator_id,
            TicketRow.due_to.is_not(None),
            TicketRow.due_to < horizon_end,
        )
    ).all()
    due: dict[int, dt.date] = {}
    for ticket_id, date in scheduled:
        due[ticket_id] = min(date, due.get(ticket_id, date))
    for ticket_id, moment in deadlines:
        if moment is not None:  # the query holds only set deadlines; this tells mypy
            date = _local_date(settings, moment)
            due[ticket_id] = min(date, due.get(ticket_id, date))
    if not due:
        return []
    rows = session.execute(
        select(TicketRow, ClientRow.name)
        .outerjoin(ClientRow, ClientRow.id == TicketRow.client_id)
        .where(TicketRow.id.in_(due))
    ).all()
    states = open_states(session)
    tasks = [
        TodoTask(
            ticket_id=t.id,
            number=t.number,
            title=t.title,
            state=t.state,
            client_name=client or "",
            due_date=due[t.id],
        )
        for t, client in rows
        if t.state in states.get(t.definition_code, set())
    ]
    return sorted(tasks, key=lambda task: (task.due_date or day, task.ticket_id))


def _local_date(settings: PlannerSettings, moment: dt.datetime) -> dt.date:
    """The desk's local day of a stored (naive UTC) moment."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(settings.zone).date()


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
