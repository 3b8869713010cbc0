"""Inputs and views of the planner (msgspec Structs shared by the API and the UI)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tickets.core.schemas import (
    EmailAddress,
    Priority,
    Short,
    Text,
    Title,
    check_addresses,
    one_address,
)
from tickets.planner.recurrence import Every

LeadDays = Annotated[int, Meta(ge=0, le=366)]
Email = EmailAddress
Language = Literal["pl", "en"]
Clock = Annotated[str, Meta(pattern=r"^\d{1,2}:\d{2}$")]
IsoTime = Annotated[str, Meta(min_length=10, max_length=40)]
"""ISO 8601 date and time (`2026-12-07T09:00`, seconds and offset optional; none = local)."""


class ScheduleCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A recurring service schedule; the ticket fields are copied to every ticket it makes."""

    client_id: int
    title: Title
    every: Every
    start_date: dt.date
    description: Text = ""
    definition: Annotated[str, Meta(min_length=1, max_length=16)] = "ZS"
    lead_days: LeadDays = 0
    end_date: dt.date | None = None
    operator_id: int | None = None
    contact_id: int | None = None
    contact_email: Email | None = None
    licence: Short | None = None
    product: Short = ""
    version: Short = ""
    module: Short = ""
    area: Short = ""
    type: Short = "service_review"
    priority: Priority = "normalny"

    def __post_init__(self) -> None:
        check_addresses(self, "contact_email")


TICKET_FIELDS = (
    "contact_id",
    "contact_email",
    "licence",
    "product",
    "version",
    "module",
    "area",
    "type",
    "priority",
)
"""The fields of ScheduleCreate that go to the tickets as they are."""


class SchedulePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Pause or resume, set or clear the end date, change the plan; only fields present change."""

    paused: bool | UnsetType = UNSET
    end_date: dt.date | UnsetType | None = UNSET
    title: Title | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    lead_days: LeadDays | UnsetType = UNSET
    every: Every | UnsetType = UNSET
    start_date: dt.date | UnsetType = UNSET
    operator_id: int | UnsetType | None = UNSET


class ScheduleView(msgspec.Struct, kw_only=True):
    id: int
    client_id: int
    title: str
    description: str
    definition: str
    every: str
    start_date: dt.date
    end_date: dt.date | None
    lead_days: int
    operator_id: int | None
    paused: bool
    next_due: dt.date | None
    next_creation: dt.date | None
    ticket_fields: dict[str, Any]


class ScheduleList(msgspec.Struct):
    items: list[ScheduleView]


class UpcomingItem(msgspec.Struct, kw_only=True):
    due_date: dt.date
    creation_date: dt.date
    ticket_id: int | None = None


class Upcoming(msgspec.Struct):
    schedule_id: int
    items: list[UpcomingItem]


class ScheduleRunResult(msgspec.Struct):
    created: list[int]
    """Ids of the tickets made by this run."""


class AbsenceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An absence: dates (whole days, `to` included) or ISO times (local without an offset)."""

    from_: Annotated[str, Meta(min_length=10, max_length=40)] = msgspec.field(name="from")
    to: Annotated[str, Meta(min_length=10, max_length=40)]
    reason: Short = ""


class CalendarPut(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An operator's whole calendar; what is left out is emptied."""

    weekly_hours: dict[str, list[list[Clock]]]
    absences: Annotated[list[AbsenceIn], Meta(max_length=500)] = msgspec.field(default_factory=list)
    competences: Annotated[list[Short], Meta(max_length=200)] = msgspec.field(default_factory=list)
    site: Short = ""
    group: Short = ""


class AbsenceView(msgspec.Struct):
    start: dt.datetime
    end: dt.datetime
    reason: str


class CalendarView(msgspec.Struct, kw_only=True):
    user_id: int
    name: str
    weekly_hours: dict[str, list[list[str]]]
    absences: list[AbsenceView]
    competences: list[str]
    site: str
    group: str
    timezone: str
    default: bool = False
    """True when the operator has no calendar of their own and the desk's hours apply."""


class HolidayView(msgspec.Struct, kw_only=True):
    day: dt.date
    name: str
    source: Literal["builtin", "desk"]
    closed: bool = True


class HolidayList(msgspec.Struct):
    items: list[HolidayView]


class HolidayPut(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A day off the desk adds (`closed`), or a built-in holiday it works on (`closed: false`)."""

    name: Short = ""
    closed: bool = True


class AppointmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Book a ticket's work; `end` defaults to the length of the ticket's activity type."""

    ticket_id: int
    operator_id: int
    start: IsoTime
    end: IsoTime | None = None
    notify: bool = True
    notify_emails: Annotated[list[Email], Meta(max_length=20)] = msgspec.field(default_factory=list)
    language: Language | None = None
    note: Text = ""

    def __post_init__(self) -> None:
        self.notify_emails = [
            one_address(f"notify_emails[{i}]", e) for i, e in enumerate(self.notify_emails)
        ]


class AppointmentPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Move, resize or hand to another operator (the same checks as booking)."""

    start: IsoTime | UnsetType = UNSET
    end: IsoTime | UnsetType = UNSET
    operator_id: int | UnsetType = UNSET
    notify: bool | UnsetType = UNSET
    note: Text | UnsetType = UNSET


class AppointmentDone(msgspec.Struct, forbid_unknown_fields=True):
    done: bool


class AppointmentView(msgspec.Struct, kw_only=True):
    id: int
    ticket_id: int
    ticket_number: str
    ticket_title: str
    ticket_state: str
    client_name: str
    operator_id: int
    start: dt.datetime
    end: dt.datetime
    start_local: dt.datetime
    end_local: dt.datetime
    status: str
    sequence: int
    note: str


class AppointmentList(msgspec.Struct):
    items: list[AppointmentView]


class TodoTask(msgspec.Struct, kw_only=True):
    ticket_id: int
    number: str
    title: str
    state: str
    client_name: str
    due_date: dt.date | None


class Todo(msgspec.Struct, kw_only=True):
    operator_id: int
    date: dt.date
    appointments: list[AppointmentView]
    due: list[TodoTask]
