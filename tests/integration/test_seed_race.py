"""Processes that start together seed the desk once: the second waits for the first's rows
instead of inserting them again and dying of the unique key (seen: two intake workers started
at the same moment on PostgreSQL, one of them gone before it took the mailbox's lease)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.bootstrap import seed_desk
from tickets.core.db import Database
from tickets.core.orm import UserRow
from tickets.telephony.orm import TelephonyStatusRow
from tickets.telephony.statuses import DEFAULT_STATUSES, seed_statuses

TOKEN = "seed-race-admin-token"


def _waiting_on_a_lock(db: Database) -> bool:
    with db.read() as s:
        return bool(s.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))


class Pause:
    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()


@pytest.fixture
def paused_first_seed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pause]:
    """The first seed stops inside its transaction, its rows written and not committed, until
    `release` is set; later seeds run through."""
    real = seed_statuses
    pause = Pause()
    first = threading.Lock()

    def seed_then_wait(session: Session) -> None:
        real(session)
        if first.acquire(blocking=False):
            pause.reached.set()
            pause.release.wait(30)

    monkeypatch.setattr("api.bootstrap.seed_statuses", seed_then_wait)
    yield pause
    pause.release.set()


def test_two_processes_starting_together_seed_once(db: Database, paused_first_seed: Pause) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            seed_desk(db, TOKEN)
        except BaseException as exc:  # the thread's failure is the test's
            errors.append(exc)

    first = threading.Thread(target=start)
    first.start()
    assert paused_first_seed.reached.wait(30), "the first seed did not get to its rows"
    second = threading.Thread(target=start)
    second.start()
    # The second reaches its wait: on PostgreSQL a lock not granted; SQLite's BEGIN IMMEDIATE
    # waits in the driver, where nothing can be seen, so it gets a moment.
    deadline = time.monotonic() + 10
    while not db.is_sqlite and not _waiting_on_a_lock(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    paused_first_seed.release.set()
    first.join(30)
    second.join(30)

    assert errors == []
    with db.read() as s:
        statuses = s.scalar(select(func.count()).select_from(TelephonyStatusRow))
        admins = s.scalar(select(func.count()).select_from(UserRow).where(UserRow.login == "admin"))
    assert statuses == len(DEFAULT_STATUSES)
    assert admins == 1
