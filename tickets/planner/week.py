"""The planner's week: operators of a group, their bookable slots, appointments, and the open
tasks that have no appointment yet."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from tickets.core.orm import ClientRow, DefinitionRow, TicketRow
from tickets.planner import calendars
from tickets.planner.appointments import (
    ACTIVE,
    activity_length,
    appointment_views,
    appointments_between,
)
from tickets.planner.availability import parse_weekly_hours, unavailable_reason
from tickets.planner.orm import AppointmentRow, ScheduleOccurrenceRow
from tickets.planner.schemas import AppointmentView
from tickets.planner.settings import PlannerSettings
from tickets.planner.todo import day_bounds, open_states

SlotState = Literal["free", "busy", "off"]


class Slot(msgspec.Struct, kw_only=True):
    start: dt.datetime
    """Local time."""
    state: SlotState
    reason: str = ""


class OperatorDay(msgspec.Struct, kw_only=True):
    day: dt.date
    holiday: str
    slots: list[Slot]
    appointments: list[AppointmentView]


class OperatorWeek(msgspec.Struct, kw_only=True):
    user_id: int
    name: str
    site: str
    competences: list[str]
    days: list[OperatorDay]


class UnscheduledTask(msgspec.Struct, kw_only=True):
    ticket_id: int
    number: str
    title: str
    state: str
    client_name: str
    type: str
    minutes: int
    due_date: dt.date | None


class Week(msgspec.Struct, kw_only=True):
    monday: dt.date
    days: list[dt.date]
    group: str
    groups: list[str]
    operators: list[OperatorWeek]
    unscheduled: list[UnscheduledTask]
    first_hour: int
    last_hour: int


def unscheduled_tasks(
    session: Session, settings: PlannerSettings, limit: int = 60
) -> list[UnscheduledTask]:
    """Open tasks without a live appointment, those due first, then the newest."""
    booked = exists().where(
        AppointmentRow.ticket_id == TicketRow.id, AppointmentRow.status.in_(ACTIVE)
    )
    is_open = or_(
        *(
            and_(TicketRow.definition_code == code, TicketRow.state.in_(sorted(states)))
            for code, states in open_states(session).items()
            if states
        )
    )
    rows = session.execute(
        select(TicketRow, ClientRow.name, ScheduleOccurrenceRow.due_date)
        .join(DefinitionRow, DefinitionRow.code == TicketRow.definition_code)
        .outerjoin(ClientRow, ClientRow.id == TicketRow.client_id)
        .outerjoin(ScheduleOccurrenceRow, ScheduleOccurrenceRow.ticket_id == TicketRow.id)
        .where(DefinitionRow.kind == "task", is_open, ~booked)
        .order_by(
            ScheduleOccurrenceRow.due_date.is_(None),
            ScheduleOccurrenceRow.due_date,
            TicketRow.id.desc(),
        )
        .limit(limit)
    ).all()
    out = []
    for ticket, client, due in rows:
        out.append(
            UnscheduledTask(
                ticket_id=ticket.id,
                number=ticket.number,
                title=ticket.title,
                state=ticket.state,
                client_name=client or "",
                type=ticket.type,
                minutes=int(activity_length(settings, ticket).total_seconds() // 60),
                due_date=due,
            )
        )
    return out


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def planner_week(
    session: Session, settings: PlannerSettings, monday: dt.date, group: str = ""
) -> Week:
    days = [monday + dt.timedelta(days=i) for i in range(7)]
    first, last = day_bounds(settings, monday, 7)
    closed = calendars.closed_days(session, settings.holiday_country, days[0], days[-1])
    people = calendars.calendars_of_group(session, group or None)
    rows = appointments_between(session, first, last, [u.id for u, _ in people])
    views = appointment_views(session, settings, rows)
    hours = {u.id: parse_weekly_hours(c.weekly_hours) for u, c in people}
    spans = [s for h in hours.values() for day_spans in h.values() for s in day_spans]
    first_hour = min((s[0].hour for s in spans), default=8)
    last_hour = max((s[1].hour + (1 if s[1].minute else 0) for s in spans), default=16)
    step = dt.timedelta(minutes=settings.slot_minutes)
    operators = []
    for user, cal in people:
        absences = calendars.stored_absences(cal)
        mine = [v for v in views if v.operator_id == user.id]
        week_days = []
        for day in days:
            slots = []
            at = dt.datetime.combine(day, dt.time(first_hour), settings.zone)
            stop = dt.datetime.combine(day, dt.time(0), settings.zone) + dt.timedelta(
                hours=last_hour
            )
            while at < stop:
                start_utc, end_utc = at.astimezone(dt.UTC), (at + step).astimezone(dt.UTC)
                reason = unavailable_reason(
                    start_utc, end_utc, settings.zone, hours[user.id], closed, absences
                )
                busy = any(v.start < end_utc and start_utc < v.end for v in mine)
                state: SlotState = "off" if reason else "busy" if busy else "free"
                slots.append(Slot(start=at, state=state, reason=reason or ""))
                at += step
            day_views = [v for v in mine if v.start_local.date() == day]
            week_days.append(
                OperatorDay(
                    day=day, holiday=closed.get(day, ""), slots=slots, appointments=day_views
                )
            )
        operators.append(
            OperatorWeek(
                user_id=user.id,
                name=user.name,
                site=cal.site,
                competences=list(cal.competences),
                days=week_days,
            )
        )
    return Week(
        monday=monday,
        days=days,
        group=group,
        groups=calendars.groups(session),
        operators=operators,
        unscheduled=unscheduled_tasks(session, settings),
        first_hour=first_hour,
        last_hour=last_hour,
    )
