"""Planner routes: service schedules, operators' calendars, holidays, appointments, to-do."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from api.container import planner_settings
from api.deps import ActorDep, ContainerDep, require
from tickets.core.db import utcnow
from tickets.domain.errors import ValidationFailed
from tickets.planner import appointments, calendars, schedules, todo
from tickets.planner.schemas import (
    AppointmentCreate,
    AppointmentDone,
    AppointmentList,
    AppointmentPatch,
    AppointmentView,
    CalendarPut,
    CalendarView,
    HolidayList,
    HolidayPut,
    HolidayView,
    ScheduleCreate,
    ScheduleList,
    SchedulePatch,
    ScheduleRunResult,
    ScheduleView,
    Todo,
    Upcoming,
)
from tickets.planner.week import Week, monday_of, planner_week

TAGS = ["planner"]


def _today(container: ContainerDep) -> dt.date:
    return utcnow().astimezone(planner_settings(container).zone).date()


# ---------------------------------------------------------------- schedules


@post("/api/schedules", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=TAGS)
def create_schedule(
    container: ContainerDep, actor: ActorDep, data: JSONBody[ScheduleCreate]
) -> ScheduleView:
    """A recurring service schedule; its first ticket comes `lead_days` before the first due
    date (at once when that day has already come)."""
    with container.db.transaction() as s:
        row = schedules.create_schedule(s, actor, data, _today(container))
        view = schedules.schedule_view(row)
    # A due date whose creation day has passed gets its ticket now, not at the next tick.
    schedules.run_schedules(container.db, planner_settings(container), utcnow(), "request")
    with container.db.read() as s:
        return schedules.schedule_view(schedules.get_schedule(s, view.id))


@get("/api/schedules", sync_to_thread=True, tags=TAGS)
def list_schedules(
    container: ContainerDep, actor: ActorDep, client_id: FromQuery[int | None] = None
) -> ScheduleList:
    with container.db.read() as s:
        return ScheduleList(
            [schedules.schedule_view(r) for r in schedules.list_schedules(s, client_id)]
        )


@get("/api/schedules/{schedule_id:int}", sync_to_thread=True, tags=TAGS)
def get_schedule(
    container: ContainerDep, actor: ActorDep, schedule_id: FromPath[int]
) -> ScheduleView:
    with container.db.read() as s:
        return schedules.schedule_view(schedules.get_schedule(s, schedule_id))


@patch("/api/schedules/{schedule_id:int}", sync_to_thread=True, tags=TAGS)
def update_schedule(
    container: ContainerDep,
    actor: ActorDep,
    schedule_id: FromPath[int],
    data: JSONBody[SchedulePatch],
) -> ScheduleView:
    """Pause or resume, set the end date, re-plan; resuming skips due dates already past."""
    with container.db.transaction() as s:
        schedules.update_schedule(s, schedule_id, data, _today(container))
    schedules.run_schedules(container.db, planner_settings(container), utcnow(), "request")
    with container.db.read() as s:
        return schedules.schedule_view(schedules.get_schedule(s, schedule_id))


@get("/api/schedules/{schedule_id:int}/upcoming", sync_to_thread=True, tags=TAGS)
def upcoming(
    container: ContainerDep,
    actor: ActorDep,
    schedule_id: FromPath[int],
    count: Annotated[int, QueryParameter(ge=1, le=100)] = 12,
) -> Upcoming:
    """The next due dates that have no ticket yet, and the day each ticket will be made."""
    with container.db.read() as s:
        row = schedules.get_schedule(s, schedule_id)
        return Upcoming(schedule_id=row.id, items=schedules.upcoming(row, count))


@post("/api/schedules/run", status_code=200, sync_to_thread=True, tags=TAGS)
def run_schedules(container: ContainerDep, actor: ActorDep) -> ScheduleRunResult:
    """Make every ticket that is due now (admin), as the scheduled job would."""
    require(actor, "admin")
    made = schedules.run_schedules(container.db, planner_settings(container), utcnow(), "request")
    return ScheduleRunResult(created=made)


# ---------------------------------------------------------------- calendars and holidays


@put("/api/operators/{user_id:int}/calendar", sync_to_thread=True, tags=TAGS)
def put_calendar(
    container: ContainerDep, actor: ActorDep, user_id: FromPath[int], data: JSONBody[CalendarPut]
) -> CalendarView:
    """Working hours, absences, competences, site and planning group (admin, or one's own)."""
    if actor.user_id != user_id:
        require(actor, "admin")
    settings = planner_settings(container)
    with container.db.transaction() as s:
        calendars.put_calendar(s, settings, user_id, data)
        return calendars.calendar_view(s, settings, user_id)


@get("/api/operators/{user_id:int}/calendar", sync_to_thread=True, tags=TAGS)
def get_calendar(container: ContainerDep, actor: ActorDep, user_id: FromPath[int]) -> CalendarView:
    with container.db.read() as s:
        return calendars.calendar_view(s, planner_settings(container), user_id)


@get("/api/calendar/holidays", sync_to_thread=True, tags=TAGS)
def list_holidays(
    container: ContainerDep,
    actor: ActorDep,
    year: Annotated[int | None, QueryParameter(ge=1900, le=2200)] = None,
) -> HolidayList:
    """Public holidays (built in) with the desk's edits, for a year (default: this one)."""
    settings = planner_settings(container)
    with container.db.read() as s:
        items = calendars.holiday_list(
            s, settings.holiday_country, [year or _today(container).year]
        )
        return HolidayList(items)


@put("/api/calendar/holidays/{day:str}", sync_to_thread=True, tags=TAGS)
def put_holiday(
    container: ContainerDep, actor: ActorDep, day: FromPath[str], data: JSONBody[HolidayPut]
) -> HolidayView:
    """Add a day off (`closed: true`) or work on a built-in holiday (`closed: false`); admin."""
    require(actor, "admin")
    date = _date(day, "day")
    with container.db.transaction() as s:
        row = calendars.set_holiday(s, date, data)
        return HolidayView(day=row.day, name=row.name, source="desk", closed=row.closed)


@delete("/api/calendar/holidays/{day:str}", status_code=204, sync_to_thread=True, tags=TAGS)
def reset_holiday(container: ContainerDep, actor: ActorDep, day: FromPath[str]) -> None:
    """Drop the desk's edit of that day: the built-in table applies again; admin."""
    require(actor, "admin")
    with container.db.transaction() as s:
        calendars.reset_holiday(s, _date(day, "day"))


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, f"{text!r} is not a date YYYY-MM-DD") from None


# ---------------------------------------------------------------- appointments


@post("/api/planner/appointments", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=TAGS)
def book_appointment(
    container: ContainerDep, actor: ActorDep, data: JSONBody[AppointmentCreate]
) -> AppointmentView:
    """Book a ticket into an operator's time: 409 `appointment-overlap` when it overlaps another
    appointment, 409 `operator-unavailable` outside hours, on a holiday or in an absence."""
    settings = planner_settings(container)
    with container.db.transaction() as s:
        row = appointments.book_appointment(s, settings, actor, data)
        return appointments.appointment_views(s, settings, [row])[0]


@patch("/api/planner/appointments/{appointment_id:int}", sync_to_thread=True, tags=TAGS)
def move_appointment(
    container: ContainerDep,
    actor: ActorDep,
    appointment_id: FromPath[int],
    data: JSONBody[AppointmentPatch],
) -> AppointmentView:
    """Move, shorten, lengthen or hand to another operator (the same checks as booking)."""
    settings = planner_settings(container)
    with container.db.transaction() as s:
        row = appointments.move_appointment(s, settings, actor, appointment_id, data)
        return appointments.appointment_views(s, settings, [row])[0]


@delete(
    "/api/planner/appointments/{appointment_id:int}",
    status_code=200,
    sync_to_thread=True,
    tags=TAGS,
)
def cancel_appointment(
    container: ContainerDep, actor: ActorDep, appointment_id: FromPath[int]
) -> AppointmentView:
    """Cancel: the time is free again and the customer gets the cancellation."""
    settings = planner_settings(container)
    with container.db.transaction() as s:
        row = appointments.cancel_appointment(s, settings, actor, appointment_id)
        return appointments.appointment_views(s, settings, [row])[0]


@post(
    "/api/planner/appointments/{appointment_id:int}/done",
    status_code=200,
    sync_to_thread=True,
    tags=TAGS,
)
def appointment_done(
    container: ContainerDep,
    actor: ActorDep,
    appointment_id: FromPath[int],
    data: JSONBody[AppointmentDone],
) -> AppointmentView:
    """Check an appointment off the to-do list, or back on."""
    settings = planner_settings(container)
    with container.db.transaction() as s:
        row = appointments.mark_done(s, appointment_id, data.done, utcnow())
        return appointments.appointment_views(s, settings, [row])[0]


@get("/api/planner/appointments", sync_to_thread=True, tags=TAGS)
def list_appointments(
    container: ContainerDep,
    actor: ActorDep,
    from_: Annotated[dt.date, QueryParameter(name="from")],
    to: FromQuery[dt.date],
    operator_id: FromQuery[int | None] = None,
) -> AppointmentList:
    """Appointments that are not cancelled between two local dates (`to` included)."""
    settings = planner_settings(container)
    first, _ = todo.day_bounds(settings, from_)
    _, last = todo.day_bounds(settings, to)
    with container.db.read() as s:
        rows = appointments.appointments_between(
            s, first, last, [operator_id] if operator_id is not None else None
        )
        return AppointmentList(appointments.appointment_views(s, settings, rows))


@get("/api/planner/week", sync_to_thread=True, tags=TAGS)
def week(
    container: ContainerDep,
    actor: ActorDep,
    start: FromQuery[dt.date | None] = None,
    group: FromQuery[str] = "",
) -> Week:
    """The planner's week of a group: bookable slots, appointments, unscheduled tasks."""
    with container.db.read() as s:
        return planner_week(
            s, planner_settings(container), monday_of(start or _today(container)), group
        )


@get("/api/todo", sync_to_thread=True, tags=TAGS)
def operator_todo(
    container: ContainerDep,
    actor: ActorDep,
    operator_id: FromQuery[int | None] = None,
    date: FromQuery[dt.date | None] = None,
) -> Todo:
    """An operator's day (default: the caller, today): appointments and tasks due soon."""
    who = operator_id if operator_id is not None else actor.user_id
    if who is None:
        raise ValidationFailed("operator_id", "required for a token without a user")
    with container.db.read() as s:
        return todo.todo(s, planner_settings(container), who, date or _today(container))


ROUTES = [
    create_schedule,
    list_schedules,
    get_schedule,
    update_schedule,
    upcoming,
    run_schedules,
    put_calendar,
    get_calendar,
    list_holidays,
    put_holiday,
    reset_holiday,
    book_appointment,
    move_appointment,
    cancel_appointment,
    appointment_done,
    list_appointments,
    week,
    operator_todo,
]
