"""Customer mail about appointments through the outbox and a real SMTP server, with the .ics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from sqlalchemy import select

from api.bootstrap import make_outbox_worker
from api.container import Container
from tests.integration.planner_helpers import (
    SETTINGS,
    add_client,
    add_contact,
    add_operator,
    add_task,
)
from tests.services.smtp import Received, SmtpServer, smtp_server
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow
from tickets.core.schemas import SYSTEM
from tickets.core.settings import load_settings
from tickets.planner import appointments
from tickets.planner.schemas import AppointmentCreate, AppointmentPatch

MONDAY = dt.date(2026, 12, 7)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def container(db: Database, smtp: SmtpServer, tmp_path: Path) -> Container:
    settings = load_settings(
        {"SEDNO_DATA_DIR": str(tmp_path), "SEDNO_DATABASE_URL": db.url,
         "SEDNO_SMTP_HOST": smtp.host, "SEDNO_SMTP_PORT": str(smtp.port),
         "SEDNO_MAIL_FROM": "Serwis Sedno <serwis@sedno.test>"}
    )  # fmt: skip
    return Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "blobs"))


def _book(db: Database, ticket_id: int, operator_id: int, **extra: object) -> int:
    with db.transaction() as s:
        data = AppointmentCreate(
            ticket_id=ticket_id, operator_id=operator_id,
            start="2026-12-07T09:00", end="2026-12-07T11:00",
            **extra,  # type: ignore[arg-type]
        )  # fmt: skip
        return appointments.book_appointment(s, SETTINGS, SYSTEM, data).id


def _event(mail: Received) -> tuple[icalendar.Calendar, icalendar.Event, str]:
    (part,) = [
        p for p in mail.message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event, part.get_param("method") or ""


def test_booking_moving_and_cancelling_mail_the_customer_the_same_event(
    container: Container, smtp: SmtpServer
) -> None:
    db = container.db
    with db.transaction() as s:
        client_id = add_client(s)
        contact_id = add_contact(s, client_id, "anna@piekarnia.pl")
        operator_id = add_operator(s, "technik")
        ticket_id = add_task(
            s, "Przegląd kas fiskalnych", client_id=client_id, contact_id=contact_id
        )
    appointment_id = _book(db, ticket_id, operator_id, notify_emails=["kierownik@piekarnia.pl"])
    worker = make_outbox_worker(container)
    worker.drain()
    (booked,) = smtp.wait_for(1)
    assert sorted(booked.rcpt_tos) == ["anna@piekarnia.pl", "kierownik@piekarnia.pl"]
    assert booked.message["Subject"].startswith("Wizyta serwisowa ZS/")
    assert booked.message["Subject"].endswith("2026-12-07 09:00")
    body = booked.message.get_body(("plain",))
    assert (
        body is not None and "Termin: 2026-12-07, 09:00–11:00 (Europe/Warsaw)" in body.get_content()
    )
    calendar, event, method = _event(booked)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    uid = str(event["UID"])
    assert uid == f"sedno-appointment-{appointment_id}@sedno.test"
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert "mailto:anna@piekarnia.pl" in [str(a) for a in event["ATTENDEE"]]

    with db.transaction() as s:
        appointments.move_appointment(
            s, SETTINGS, SYSTEM, appointment_id,
            AppointmentPatch(start="2026-12-08T13:00", end="2026-12-08T15:30"),
        )  # fmt: skip
    worker.drain()
    moved = smtp.wait_for(2)[1]
    assert moved.message["Subject"].startswith("Zmiana terminu wizyty")
    _, event, method = _event(moved)
    assert method == "REQUEST" and str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC)

    with db.transaction() as s:
        appointments.cancel_appointment(s, SETTINGS, SYSTEM, appointment_id)
    worker.drain()
    cancelled = smtp.wait_for(3)[2]
    assert cancelled.message["Subject"].startswith("Odwołana wizyta")
    calendar, event, method = _event(cancelled)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
    assert str(event["STATUS"]) == "CANCELLED"
    assert len({m.message["Message-ID"] for m in smtp.messages}) == 3


def test_english_mail_and_no_mail_when_not_asked(container: Container, smtp: SmtpServer) -> None:
    db = container.db
    with db.transaction() as s:
        client_id = add_client(s)
        operator_id = add_operator(s, "technik")
        first = add_task(s, "Review", client_id=client_id)
        second = add_task(s, "Silent", client_id=client_id)
    _book(db, first, operator_id, language="en")
    with db.transaction() as s:
        appointments.book_appointment(
            s, SETTINGS, SYSTEM,
            AppointmentCreate(ticket_id=second, operator_id=operator_id, notify=False,
                              start="2026-12-07T13:00"),
        )  # fmt: skip
    make_outbox_worker(container).drain()
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["biuro@piekarnia.pl"]  # no contact: the client's address
    assert mail.message["Subject"].startswith("Service visit ZS/")
    body = mail.message.get_body(("plain",))
    assert body is not None and "When: 2026-12-07, 09:00–11:00" in body.get_content()
    assert [p.get_filename() for p in mail.message.iter_attachments()] == ["invitation.ics"]
    smtp.wait_for(2, timeout_s=1.0)
    assert len(smtp.messages) == 1


def test_do_not_contact_is_respected(container: Container, smtp: SmtpServer) -> None:
    db = container.db
    with db.transaction() as s:
        client_id = add_client(s, "Zakład Bez Kontaktu", dnc=True)
        contact_id = add_contact(s, client_id, "szef@bezkontaktu.pl")
        operator_id = add_operator(s, "technik")
        ticket_id = add_task(s, "Przegląd", client_id=client_id, contact_id=contact_id)
    _book(db, ticket_id, operator_id, notify_emails=["ktos@inny.pl"])
    make_outbox_worker(container).drain()
    smtp.wait_for(1, timeout_s=1.5)
    assert smtp.messages == []
    with db.read() as s:
        notes = list(
            s.scalars(select(TicketHistoryRow).where(TicketHistoryRow.action == "mail_blocked"))
        )
        assert {n.new_value for n in notes} == {"szef@bezkontaktu.pl", "ktos@inny.pl"}
        assert all("zakaz kontaktu" in n.note for n in notes)
