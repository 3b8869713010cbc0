"""Appointments booked per second on SQLite and PostgreSQL: 8 writers on one operator (they
serialise on the calendar lock) and on 8 operators (they do not); and the schedule job over
many schedules.

python -m tests.bench.planner [--bookings N] [--schedules N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from pathlib import Path

import msgspec
from sqlalchemy import func, select

from api.bootstrap import TABLE_MODULES
from tests.integration.planner_helpers import SETTINGS, add_client, add_operator, add_task
from tests.services.postgres import create_database, drop_database, postgres_server
from tickets.core.db import Database
from tickets.core.definitions import seed_defaults
from tickets.core.schemas import SYSTEM
from tickets.planner import appointments, schedules
from tickets.planner.orm import AppointmentRow
from tickets.planner.schemas import AppointmentCreate, ScheduleCreate

FIRST_MONDAY = dt.date(2030, 1, 7)
WRITERS = 8


def _slots(n: int) -> list[str]:
    """n distinct half-hour starts on working days 8–16 (local time), from FIRST_MONDAY on."""
    out: list[str] = []
    day = FIRST_MONDAY
    while len(out) < n:
        if day.weekday() < 5:
            out += [f"{day}T{8 + i // 2:02d}:{30 * (i % 2):02d}" for i in range(16)]
        day += dt.timedelta(days=1)
    return out[:n]


def _bookings(db: Database, total: int, operators: int) -> float:
    with db.transaction() as s:
        ops = [add_operator(s, f"op{i}-{operators}") for i in range(operators)]
        tasks = [add_task(s, f"Wizyta {i}") for i in range(total)]
    per = total // WRITERS
    starts = _slots(total)
    barrier = threading.Barrier(WRITERS + 1)

    def work(w: int) -> None:
        barrier.wait()
        for i in range(w * per, (w + 1) * per):
            start = starts[i // operators] if operators > 1 else starts[i]
            data = AppointmentCreate(
                ticket_id=tasks[i], operator_id=ops[i % operators], start=start,
                end=start[:-2] + ("30" if start.endswith("00") else "59"), notify=False,
            )  # fmt: skip
            with db.transaction() as s:
                appointments.book_appointment(s, SETTINGS, SYSTEM, data)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AppointmentRow)) >= per * WRITERS
    return per * WRITERS / elapsed


def _schedule_job(db: Database, count: int) -> tuple[float, int]:
    with db.transaction() as s:
        client_id = add_client(s)
        for i in range(count):
            data = {"client_id": client_id, "title": f"Przegląd {i}", "every": "month",
                    "start_date": str(dt.date(2030, 1, 1 + i % 28)), "lead_days": 5}  # fmt: skip
            schedules.create_schedule(
                s, SYSTEM, msgspec.convert(data, ScheduleCreate), dt.date(2029, 12, 1)
            )
    began = time.perf_counter()
    made = schedules.make_due_tickets(db, dt.date(2030, 1, 31), "bench")
    return time.perf_counter() - began, len(made)


def _fresh(db: Database) -> Database:
    assert TABLE_MODULES  # the composition root has imported every table
    db.create_all()
    with db.transaction() as s:
        seed_defaults(s)
    return db


def _report(name: str, db_factory: object, args: argparse.Namespace) -> None:
    for operators in (1, WRITERS):
        db = db_factory()  # type: ignore[operator]
        rate = _bookings(db, args.bookings, operators)
        print(f"{name:<12}{'bookings':<10}{operators:>10}{rate:>14.0f}/s")
        db.dispose()
    db = db_factory()  # type: ignore[operator]
    seconds, made = _schedule_job(db, args.schedules)
    print(
        f"{name:<12}{'schedules':<10}{args.schedules:>10}{made / seconds:>14.0f}/s  ({made} tickets in {seconds:.1f} s)"
    )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=800)
    parser.add_argument("--schedules", type=int, default=300)
    args = parser.parse_args()
    print(f"{WRITERS} writers; {args.bookings} bookings per run; {args.schedules} schedules")
    print(f"{'database':<12}{'what':<10}{'operators':>10}{'rate':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))
        _report(
            "sqlite",
            lambda: _fresh(Database(f"sqlite:///{Path(tmp) / f'b{next(counter)}.db'}")),
            args,
        )
    with postgres_server() as admin:
        urls: list[str] = []

        def pg() -> Database:
            urls.append(create_database(admin))
            return _fresh(Database(urls[-1]))

        try:
            _report("postgresql", pg, args)
        finally:
            for url in urls:
                drop_database(admin, url)


if __name__ == "__main__":
    main()
