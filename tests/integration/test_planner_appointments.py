"""Appointments on SQLite and PostgreSQL: overlap, availability, competence, concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select

from tests.integration.planner_helpers import (
    SETTINGS,
    WEEK_8_16,
    add_client,
    add_operator,
    add_task,
)
from tickets.core.db import Database
from tickets.core.outbox import OutboxJobRow
from tickets.core.schemas import SYSTEM
from tickets.core.services import get_ticket, transition_ticket
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.planner import appointments, calendars
from tickets.planner.orm import AppointmentRow
from tickets.planner.schedules import ensure_service_review_type
from tickets.planner.schemas import (
    AbsenceIn,
    AppointmentCreate,
    AppointmentPatch,
    CalendarPut,
    HolidayPut,
)
from tickets.planner.week import planner_week

MONDAY = dt.date(2026, 12, 7)


def at(day: dt.date, clock: str) -> str:
    """A local time without an offset, as a client sends it."""
    return f"{day.isoformat()}T{clock}"


def _setup(db: Database, *, competences: list[str] | None = None) -> tuple[int, int, int]:
    with db.transaction() as s:
        client_id = add_client(s)
        operator_id = add_operator(s, "jan", competences=competences)
        first = add_task(s, "Przegląd 1", client_id=client_id, type="bug")
        second = add_task(s, "Przegląd 2", client_id=client_id)
    return operator_id, first, second


def _book(db: Database, ticket_id: int, operator_id: int, start: str,
          end: str | None = None) -> AppointmentRow:  # fmt: skip
    with db.transaction() as s:
        data = AppointmentCreate(ticket_id=ticket_id, operator_id=operator_id, start=start, end=end)
        return appointments.book_appointment(s, SETTINGS, SYSTEM, data)


def _slug(excinfo: pytest.ExceptionInfo[Conflict]) -> str:
    return excinfo.value.slug


def test_times_without_offset_are_warsaw_and_stored_in_utc(db: Database) -> None:
    operator_id, first, _ = _setup(db)
    row = _book(db, first, operator_id, at(MONDAY, "09:00"), at(MONDAY, "11:00"))
    assert row.starts_at == dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)
    with db.read() as s:
        stored = s.get(AppointmentRow, row.id)
        assert stored is not None and stored.ends_at == dt.datetime(
            2026, 12, 7, 10, 0, tzinfo=dt.UTC
        )
        jobs = s.scalar(
            select(func.count()).where(OutboxJobRow.kind == appointments.APPOINTMENT_MAIL_JOB)
        )
        assert jobs == 1


def test_an_overlap_with_another_appointment_is_refused(db: Database) -> None:
    operator_id, first, second = _setup(db)
    _book(db, first, operator_id, at(MONDAY, "09:00"), at(MONDAY, "11:00"))
    with pytest.raises(Conflict) as clash:
        _book(db, second, operator_id, at(MONDAY, "10:30"), at(MONDAY, "12:00"))
    assert _slug(clash) == "appointment-overlap"
    # touching is not overlapping
    _book(db, second, operator_id, at(MONDAY, "11:00"), at(MONDAY, "12:00"))


def test_the_length_comes_from_the_activity_type(db: Database) -> None:
    operator_id, first, _ = _setup(db)
    with db.transaction() as s:
        review = add_task(s, "Przegląd", type="")
        ensure_service_review_type(s)
        get_ticket(s, review).type = "service_review"
    row = _book(db, review, operator_id, at(MONDAY, "09:00"))
    assert row.ends_at - row.starts_at == dt.timedelta(minutes=120)
    other = _book(db, first, operator_id, at(MONDAY, "13:00"))
    assert other.ends_at - other.starts_at == dt.timedelta(minutes=60)


def test_outside_hours_on_a_holiday_or_in_an_absence_the_operator_is_unavailable(
    db: Database,
) -> None:
    operator_id, first, _ = _setup(db)
    for start, end in [
        (at(MONDAY, "07:00"), at(MONDAY, "09:00")),  # before work
        (at(MONDAY, "15:00"), at(MONDAY, "17:00")),  # past 16:00
        (at(dt.date(2026, 12, 12), "09:00"), None),  # Saturday
        (at(dt.date(2026, 12, 24), "09:00"), None),  # Wigilia, a public holiday in Poland
        (at(dt.date(2026, 12, 25), "09:00"), None),  # Boże Narodzenie
    ]:
        with pytest.raises(Conflict) as refused:
            _book(db, first, operator_id, start, end)
        assert _slug(refused) == "operator-unavailable", start
    with db.transaction() as s:
        calendars.put_calendar(
            s, SETTINGS, operator_id,
            CalendarPut(weekly_hours=WEEK_8_16,
                        absences=[AbsenceIn(from_="2026-12-08", to="2026-12-09", reason="urlop")]),
        )  # fmt: skip
    with pytest.raises(Conflict) as absent:
        _book(db, first, operator_id, at(dt.date(2026, 12, 9), "15:00"))
    assert _slug(absent) == "operator-unavailable" and "urlop" in str(absent.value)
    _book(db, first, operator_id, at(dt.date(2026, 12, 10), "08:00"))  # the day after is fine


def test_holidays_are_editable(db: Database) -> None:
    operator_id, first, second = _setup(db)
    with db.transaction() as s:  # the desk closes on Friday 11 December, works on 24 December
        calendars.set_holiday(s, dt.date(2026, 12, 11), HolidayPut(name="Dzień firmy"))
        calendars.set_holiday(s, dt.date(2026, 12, 24), HolidayPut(closed=False))
    with pytest.raises(Conflict) as closed:
        _book(db, first, operator_id, at(dt.date(2026, 12, 11), "09:00"))
    assert "Dzień firmy" in str(closed.value)
    _book(db, second, operator_id, at(dt.date(2026, 12, 24), "09:00"))
    with db.read() as s:
        days = {h.day: h for h in calendars.holiday_list(s, "PL", [2026])}
    assert days[dt.date(2026, 12, 25)].source == "builtin"
    assert days[dt.date(2026, 12, 25)].name == "Boże Narodzenie (pierwszy dzień)"
    assert (
        days[dt.date(2026, 12, 24)].closed is False and days[dt.date(2026, 12, 24)].source == "desk"
    )
    with db.transaction() as s:
        calendars.reset_holiday(s, dt.date(2026, 12, 11))
    _book(db, first, operator_id, at(dt.date(2026, 12, 11), "09:00"))


def test_competences_limit_who_may_be_booked(db: Database) -> None:
    operator_id, first, second = _setup(db, competences=["bug"])
    _book(db, first, operator_id, at(MONDAY, "09:00"))  # a bug: allowed
    with pytest.raises(Conflict) as refused:
        _book(db, second, operator_id, at(MONDAY, "12:00"))
    assert _slug(refused) == "operator-not-competent"


def test_move_resize_and_cancel_use_the_same_rules(db: Database) -> None:
    operator_id, first, second = _setup(db)
    a = _book(db, first, operator_id, at(MONDAY, "09:00"), at(MONDAY, "10:00"))
    b = _book(db, second, operator_id, at(MONDAY, "11:00"), at(MONDAY, "12:00"))
    with db.transaction() as s, pytest.raises(Conflict) as clash:
        appointments.move_appointment(
            s, SETTINGS, SYSTEM, a.id, AppointmentPatch(start=at(MONDAY, "10:30"))
        )
    assert _slug(clash) == "appointment-overlap"
    with db.transaction() as s:  # moved without an end: keeps its hour
        moved = appointments.move_appointment(
            s, SETTINGS, SYSTEM, a.id, AppointmentPatch(start=at(MONDAY, "12:00"))
        )
        assert moved.ends_at - moved.starts_at == dt.timedelta(hours=1) and moved.sequence == 1
    with db.transaction() as s, pytest.raises(Conflict):  # lengthened into the other one
        appointments.move_appointment(
            s, SETTINGS, SYSTEM, b.id, AppointmentPatch(end=at(MONDAY, "12:30"))
        )
    with db.transaction() as s, pytest.raises(Conflict) as late:
        appointments.move_appointment(
            s, SETTINGS, SYSTEM, a.id, AppointmentPatch(end=at(MONDAY, "17:00"))
        )
    assert _slug(late) == "operator-unavailable"
    with db.transaction() as s, pytest.raises(ValidationFailed) as backwards:
        appointments.move_appointment(
            s, SETTINGS, SYSTEM, a.id, AppointmentPatch(end=at(MONDAY, "11:00"))
        )
    assert backwards.value.field == "end"
    with db.transaction() as s:
        cancelled = appointments.cancel_appointment(s, SETTINGS, SYSTEM, b.id)
        assert cancelled.status == "cancelled" and cancelled.sequence == 1
    with db.transaction() as s:  # its time is free again
        appointments.move_appointment(s, SETTINGS, SYSTEM, a.id, AppointmentPatch(start=at(MONDAY, "11:00"), end=at(MONDAY, "12:30")))  # fmt: skip


def test_two_simultaneous_bookings_of_one_slot_give_one_success_and_one_overlap(
    db: Database,
) -> None:
    """Eight back-office users book the same operator's slot at the same instant, each in its
    own connection; the calendar lock lets exactly one through."""
    with db.transaction() as s:
        operator_id = add_operator(s, "anna")
        tickets = [add_task(s, f"Wizyta {i}") for i in range(8)]
    engines = [Database(db.url) for _ in tickets]
    barrier = threading.Barrier(len(tickets))
    outcomes: list[str] = ["" for _ in tickets]

    def book(i: int) -> None:
        barrier.wait()
        try:
            with engines[i].transaction() as s:
                data = AppointmentCreate(
                    ticket_id=tickets[i], operator_id=operator_id,
                    start=at(MONDAY, "09:00"), end=at(MONDAY, f"{10 + i % 3}:00"),
                )  # fmt: skip
                appointments.book_appointment(s, SETTINGS, SYSTEM, data)
            outcomes[i] = "201"
        except Conflict as exc:
            outcomes[i] = exc.slug
        except Exception as exc:
            outcomes[i] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=book, args=(i,)) for i in range(len(tickets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert sorted(outcomes) == ["201"] + ["appointment-overlap"] * 7, outcomes
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AppointmentRow)) == 1


def test_the_week_lists_open_unbooked_tasks_and_greys_what_cannot_be_booked(db: Database) -> None:
    operator_id, first, second = _setup(db)
    with db.transaction() as s:
        done = add_task(s, "Zrobione")
        transition_ticket(s, SYSTEM, done, "cancelled")
        for i in range(70):  # more closed tasks than the list shows must not hide open ones
            transition_ticket(s, SYSTEM, add_task(s, f"Stare {i}"), "cancelled")
    _book(db, first, operator_id, at(MONDAY, "09:00"), at(MONDAY, "10:00"))
    with db.read() as s:
        week = planner_week(s, SETTINGS, MONDAY, "serwis")
    assert [t.ticket_id for t in week.unscheduled] == [second]
    (operator,) = week.operators
    monday = operator.days[0]
    states = {slot.start.strftime("%H:%M"): slot.state for slot in monday.slots}
    assert states["08:30"] == "free" and states["09:00"] == "busy" and states["09:30"] == "busy"
    assert states["10:00"] == "free"
    assert all(slot.state == "off" for slot in operator.days[5].slots)  # Saturday
    assert [a.ticket_id for a in monday.appointments] == [first]
