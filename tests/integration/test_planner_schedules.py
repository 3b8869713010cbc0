"""Service schedules on SQLite and PostgreSQL: each due date's ticket made once, on its day."""

from __future__ import annotations

import datetime as dt
import threading

import msgspec
from sqlalchemy import func, select

from tests.integration.planner_helpers import SETTINGS, add_client, add_operator
from tickets.core.db import Database
from tickets.core.orm import TicketRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket, transition_ticket
from tickets.planner import schedules, todo
from tickets.planner.orm import ScheduleOccurrenceRow
from tickets.planner.schemas import ScheduleCreate, SchedulePatch

DEC_1 = dt.date(2026, 12, 1)


def _schedule(db: Database, today: dt.date = DEC_1, **fields: object) -> int:
    with db.transaction() as s:
        client_id = add_client(s)
        operator_id = add_operator(s, "serwisant")
        data = {
            "client_id": client_id,
            "title": "Przegląd serwisowy enova365",
            "every": "month",
            "start_date": dt.date(2026, 12, 10),
            "lead_days": 3,
            "operator_id": operator_id,
            "module": "Kadry Płace",
            **fields,
        }
        return schedules.create_schedule(s, SYSTEM, msgspec.convert(data, ScheduleCreate), today).id


def test_monthly_on_the_10th_with_3_lead_days_makes_its_ticket_on_the_7th(db: Database) -> None:
    schedule_id = _schedule(db)
    assert schedules.make_due_tickets(db, dt.date(2026, 12, 6), "w") == []
    made = schedules.make_due_tickets(db, dt.date(2026, 12, 7), "w")
    assert len(made) == 1
    assert schedules.make_due_tickets(db, dt.date(2026, 12, 7), "w") == []  # once
    assert schedules.make_due_tickets(db, dt.date(2026, 12, 8), "w") == []
    with db.read() as s:
        (ticket,) = s.scalars(select(TicketRow)).all()
        assert ticket.id == made[0]
        assert ticket.type == "service_review" and ticket.module == "Kadry Płace"
        assert ticket.title == "Przegląd serwisowy enova365 (2026-12-10)"
        assert "Termin przeglądu: 2026-12-10" in ticket.description
        row = schedules.get_schedule(s, schedule_id)
        assert ticket.lead_consultant_id == row.operator_id
        assert row.next_due == dt.date(2027, 1, 10)
        occurrence = s.get(ScheduleOccurrenceRow, (schedule_id, dt.date(2026, 12, 10)))
        assert occurrence is not None and occurrence.ticket_id == ticket.id
    # the next one comes on 7 January
    assert len(schedules.make_due_tickets(db, dt.date(2027, 1, 7), "w")) == 1


def test_a_due_date_whose_creation_day_has_passed_gets_its_ticket_at_once(db: Database) -> None:
    _schedule(db, start_date=dt.date(2026, 12, 3), lead_days=3)  # due in 2 days
    assert len(schedules.make_due_tickets(db, DEC_1, "w")) == 1


def test_a_worker_that_was_down_catches_up_every_missed_due_date_once(db: Database) -> None:
    schedule_id = _schedule(db, every="week", start_date=dt.date(2026, 12, 4), lead_days=0)
    made = schedules.make_due_tickets(db, dt.date(2026, 12, 25), "w")
    assert len(made) == 4  # 4, 11, 18, 25 December
    with db.read() as s:
        assert schedules.get_schedule(s, schedule_id).next_due == dt.date(2027, 1, 1)


def test_many_workers_at_once_make_each_ticket_exactly_once(db: Database) -> None:
    _schedule(db, every="week", start_date=dt.date(2026, 12, 4), lead_days=0)
    with db.transaction() as s:
        other_client = add_client(s, "Hurtownia Zbyt")
    with db.transaction() as s:
        schedules.create_schedule(
            s, SYSTEM,
            msgspec.convert({"client_id": other_client, "title": "Przegląd", "every": "month",
                             "start_date": "2026-12-02"}, ScheduleCreate),
            DEC_1,
        )  # fmt: skip
    workers = [Database(db.url) for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    results: list[list[int]] = [[] for _ in workers]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = schedules.make_due_tickets(workers[i], dt.date(2026, 12, 18), f"w{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in workers:
        w.dispose()
    assert errors == []
    made = sorted(i for r in results for i in r)
    assert len(made) == 4 == len(set(made))  # 3 weekly (4, 11, 18 Dec) + 1 monthly (2 Dec)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TicketRow)) == 4
        assert s.scalar(select(func.count()).select_from(ScheduleOccurrenceRow)) == 4


def test_pause_resume_and_end_date(db: Database) -> None:
    schedule_id = _schedule(db)
    with db.transaction() as s:
        schedules.update_schedule(s, schedule_id, SchedulePatch(paused=True), DEC_1)
    assert schedules.make_due_tickets(db, dt.date(2026, 12, 9), "w") == []
    with db.transaction() as s:  # resumed after the due date: skipped, not made late
        row = schedules.update_schedule(
            s, schedule_id, SchedulePatch(paused=False), dt.date(2026, 12, 11)
        )
        assert row.next_due == dt.date(2027, 1, 10)
    with db.transaction() as s:
        row = schedules.update_schedule(
            s, schedule_id, SchedulePatch(end_date=dt.date(2027, 1, 31)), dt.date(2026, 12, 11)
        )
    assert len(schedules.make_due_tickets(db, dt.date(2027, 3, 1), "w")) == 1  # only 10 January
    with db.read() as s:
        assert schedules.get_schedule(s, schedule_id).next_due is None


def test_upcoming_due_dates_clamp_month_ends(db: Database) -> None:
    schedule_id = _schedule(db, start_date=dt.date(2027, 1, 31), lead_days=5)
    with db.read() as s:
        items = schedules.upcoming(schedules.get_schedule(s, schedule_id), 4)
    assert [i.due_date for i in items] == [
        dt.date(2027, 1, 31), dt.date(2027, 2, 28), dt.date(2027, 3, 31), dt.date(2027, 4, 30),
    ]  # fmt: skip
    assert items[1].creation_date == dt.date(2027, 2, 23)
    assert SETTINGS.timezone == "Europe/Warsaw"


def test_the_to_do_list_shows_open_tasks_due_soon(db: Database) -> None:
    schedule_id = _schedule(db, every="week", start_date=dt.date(2026, 12, 4), lead_days=2)
    made = schedules.make_due_tickets(db, dt.date(2026, 12, 10), "w")  # 4 and 11 December
    assert len(made) == 2
    with db.read() as s:
        operator_id = schedules.get_schedule(s, schedule_id).operator_id
        assert operator_id is not None
        listed = todo.todo(s, SETTINGS, operator_id, dt.date(2026, 12, 5))
    assert [t.due_date for t in listed.due] == [dt.date(2026, 12, 4), dt.date(2026, 12, 11)]
    with db.transaction() as s:
        transition_ticket(s, SYSTEM, made[0], "cancelled")
    with db.read() as s:
        listed = todo.todo(s, SETTINGS, operator_id, dt.date(2026, 12, 5))
    assert [t.ticket_id for t in listed.due] == [made[1]]


def test_the_to_do_list_shows_tasks_by_their_own_deadline(db: Database) -> None:
    schedule_id = _schedule(db, every="week", start_date=dt.date(2026, 12, 4), lead_days=2)
    (scheduled,) = schedules.make_due_tickets(db, dt.date(2026, 12, 3), "w")  # due 4 December
    with db.transaction() as s:
        operator_id = schedules.get_schedule(s, schedule_id).operator_id
        assert operator_id is not None
        row = s.get(TicketRow, scheduled)
        assert row is not None
        # a deadline earlier than the schedule's due date wins: 23:30 UTC is 3 December in Warsaw
        row.due_to = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
        far, near = (
            create_ticket(s, SYSTEM, TicketCreate(title=title, lead_consultant_id=operator_id))
            for title in ("Wdrożenie w marcu", "Wdrożenie w piątek")
        )
        far.due_to = dt.datetime(2027, 3, 1, 9, tzinfo=dt.UTC)
        near.due_to = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)
        near_id = near.id
    with db.read() as s:
        listed = todo.todo(s, SETTINGS, operator_id, dt.date(2026, 12, 3))
    assert [(t.ticket_id, t.due_date) for t in listed.due] == [
        (scheduled, dt.date(2026, 12, 3)),
        (near_id, dt.date(2026, 12, 5)),
    ]
