"""Coalesced outbox jobs: a running worker gathers a kind's jobs for a window and runs them as
one batch (search indexing: one index commit for a burst of ticket updates); `drain` never
waits; other kinds are not held back. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from tickets.core.db import Database
from tickets.core.outbox import Coalesced, OutboxJob, OutboxJobRow, OutboxWorker, enqueue

WINDOW_S = 0.4


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> Database:
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    database: Database = request.getfixturevalue(name)
    return database


def _worker(db: Database, batches: list[list[str]], singles: list[str]) -> OutboxWorker:
    def index(jobs: Sequence[OutboxJob]) -> None:
        batches.append([job.payload["key"] for job in jobs])

    def mail(job: OutboxJob) -> None:
        singles.append(job.payload["key"])

    return OutboxWorker(db, {"mail": mail}, {"index": Coalesced(index, WINDOW_S)})


def _enqueue(db: Database, kind: str, *keys: str) -> None:
    with db.transaction() as s:
        for key in keys:
            enqueue(s, kind, {"key": key})


def test_a_running_worker_gathers_a_window_of_jobs_into_one_batch(db: Database) -> None:
    db.create_all()
    batches: list[list[str]] = []
    singles: list[str] = []
    worker = _worker(db, batches, singles)
    _enqueue(db, "index", "a", "b")
    _enqueue(db, "mail", "m1")

    assert worker.run_once(coalesce=True) == 1  # the mail goes at once, the index jobs wait
    assert singles == ["m1"] and batches == []
    _enqueue(db, "index", "c")
    time.sleep(WINDOW_S + 0.1)
    _enqueue(db, "index", "d")  # young, but rides along with the ripe ones

    assert worker.run_once(coalesce=True) == 4
    assert batches == [["a", "b", "c", "d"]]
    assert worker.run_once(coalesce=True) == 0


def test_drain_does_not_wait_for_the_window(db: Database) -> None:
    db.create_all()
    batches: list[list[str]] = []
    worker = _worker(db, batches, [])
    _enqueue(db, "index", "a", "b")

    worker.drain(timeout_s=5)

    assert batches == [["a", "b"]]
    with db.read() as s:
        assert {r.status for r in s.query(OutboxJobRow)} == {"done"}
