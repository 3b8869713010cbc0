"""Test data for the planner: a client, operators with calendars, tickets to plan."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tickets.accounts.auth import create_user
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.directory.service import ClientIn, ContactIn, create_client, create_contact
from tickets.planner.calendars import put_calendar
from tickets.planner.schemas import CalendarPut
from tickets.planner.settings import PlannerSettings

SETTINGS = PlannerSettings()
WEEK_8_16 = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def add_client(s: Session, name: str = "Piekarnia Kłos", *, dnc: bool = False) -> int:
    client = create_client(s, ClientIn(name=name, email="biuro@piekarnia.pl"))
    client.do_not_contact = dnc
    s.flush()
    return client.id


def add_contact(s: Session, client_id: int, email: str) -> int:
    return create_contact(s, ContactIn(name="Anna Kłos", email=email, client_id=client_id)).id


def add_operator(
    s: Session, login: str, *, group: str = "serwis", competences: list[str] | None = None
) -> int:
    user, _ = create_user(
        s, login=login, name=login.title(), role="consultant", email=f"{login}@sedno.test"
    )
    put_calendar(
        s, SETTINGS, user.id,
        CalendarPut(weekly_hours=WEEK_8_16, competences=competences or [], group=group),
    )  # fmt: skip
    return user.id


def add_task(s: Session, title: str = "Przegląd instalacji", *, client_id: int | None = None,
             contact_id: int | None = None, type: str = "") -> int:  # fmt: skip
    return create_ticket(
        s, SYSTEM, TicketCreate(title=title, client_id=client_id, contact_id=contact_id, type=type)
    ).id
