"""The planner (a week per group, unscheduled tasks below, drag and drop or keyboard) and the
operator's phone-sized to-do page."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta

from api.container import planner_settings
from api.deps import ActorDep, ContainerDep
from tickets.core.db import utcnow
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.planner import appointments, todo
from tickets.planner.schemas import AppointmentCreate, AppointmentView
from tickets.planner.settings import PlannerSettings
from tickets.planner.week import Week, monday_of, planner_week
from ui.web import page

STATES = ("reported", "analysing", "in_progress", "completed", "cancelled")
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BookForm(msgspec.Struct, kw_only=True):
    """The planner's form without script: a task, an operator, a day and an hour."""

    ticket_id: int
    operator_id: int
    day: dt.date
    time: Annotated[str, Meta(pattern=r"^\d{1,2}:\d{2}$")]
    week: dt.date | None = None
    group: Annotated[str, Meta(max_length=200)] = ""


class DoneForm(msgspec.Struct, kw_only=True):
    done: bool = True
    date: dt.date | None = None


def _week_days(week: Week) -> list[dt.date]:
    """Monday to Friday, and the weekend days someone of the group works."""
    worked = {
        day.day
        for op in week.operators
        for day in op.days
        if any(slot.state != "off" for slot in day.slots)
    }
    return [d for d in week.days if d.weekday() < 5 or d in worked]


def grid_place(settings: PlannerSettings, week: Week, view: AppointmentView) -> tuple[int, int]:
    """The appointment's first grid row (1-based) and how many slot rows it spans."""
    day_start = dt.datetime.combine(
        view.start_local.date(), dt.time(week.first_hour), settings.zone
    )
    step = settings.slot_minutes * 60
    rows = (week.last_hour - week.first_hour) * 60 // settings.slot_minutes
    first = max(0, math.floor((view.start_local - day_start).total_seconds() / step))
    span = max(1, math.ceil((view.end_local - view.start_local).total_seconds() / step))
    first = min(first, rows - 1)
    return first + 1, min(span, rows - first)


@get("/planner", sync_to_thread=True)
def planner_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    week: FromQuery[dt.date | None] = None,
    group: FromQuery[str] = "",
    error: FromQuery[str] = "",
    booked: FromQuery[int | None] = None,
) -> Template:
    settings = planner_settings(container)
    today = utcnow().astimezone(settings.zone).date()
    monday = monday_of(week or today)
    with container.db.read() as s:
        data = planner_week(s, settings, monday, group)
    return page(
        request,
        "planner.html",
        actor=actor,
        week=data,
        shown_days=_week_days(data),
        weekday_keys=WEEKDAY_KEYS,
        states=STATES,
        place=lambda view: grid_place(settings, data, view),
        slot_rows=(data.last_hour - data.first_hour) * 60 // settings.slot_minutes,
        slot_minutes=settings.slot_minutes,
        previous_week=monday - dt.timedelta(days=7),
        next_week=monday + dt.timedelta(days=7),
        today=today,
        error=error,
        booked=booked,
    )


@post("/planner/book", sync_to_thread=True, status_code=303)
def planner_book(
    container: ContainerDep, actor: ActorDep, data: URLEncodedBody[BookForm]
) -> Response[Any]:
    """Book from the form (no script needed); a refusal comes back as the page's message."""
    settings = planner_settings(container)
    back = f"/planner?week={(data.week or data.day).isoformat()}&group={data.group}"
    try:
        with container.db.transaction() as s:
            row = appointments.book_appointment(
                s,
                settings,
                actor,
                AppointmentCreate(
                    ticket_id=data.ticket_id,
                    operator_id=data.operator_id,
                    start=f"{data.day.isoformat()}T{data.time.zfill(5)}",
                ),
            )
    except Conflict as exc:
        return Redirect(f"{back}&error={exc.slug}", status_code=303)
    except ValidationFailed as exc:
        return Redirect(f"{back}&error=invalid-{exc.field}", status_code=303)
    return Redirect(f"{back}&booked={row.id}", status_code=303)


@get("/todo", sync_to_thread=True)
def todo_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    date: FromQuery[dt.date | None] = None,
    operator_id: FromQuery[int | None] = None,
) -> Template:
    settings = planner_settings(container)
    day = date or utcnow().astimezone(settings.zone).date()
    who = operator_id if operator_id is not None else actor.user_id
    if who is None:
        raise ValidationFailed("operator_id", "required for a token without a user")
    with container.db.read() as s:
        data = todo.todo(s, settings, who, day)
    return page(
        request,
        "todo.html",
        actor=actor,
        todo=data,
        day=day,
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1),
        own=who == actor.user_id,
        states=STATES,
    )


@post("/todo/appointments/{appointment_id:int}/done", sync_to_thread=True, status_code=303)
def todo_done(
    container: ContainerDep,
    actor: ActorDep,
    appointment_id: FromPath[int],
    data: URLEncodedBody[DoneForm],
) -> Response[Any]:
    with container.db.transaction() as s:
        row = appointments.mark_done(s, appointment_id, data.done, utcnow())
        operator_id = row.operator_id
    day = f"date={data.date.isoformat()}&" if data.date else ""
    return Redirect(
        f"/todo?{day}operator_id={operator_id}#appointment-{appointment_id}", status_code=303
    )


PAGES = [planner_page, planner_book, todo_page, todo_done]
