"""Two intake workers on one mailbox: only the lease holder reads; when it is SIGKILLed mid-work
the standby takes over, and every mail becomes exactly one call."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.imap import PROCESSED_FOLDER, mailbox_key
from intake.lease import current_holder
from intake.orm import IntakeCallRow, IntakeReceiptRow
from tests.integration.mailbox_helpers import (
    count_rows,
    fill_mailbox,
    folder_size,
    start_worker,
    worker_env,
)
from tests.services.dovecot import Dovecot
from tickets.core.db import Database
from tickets.core.settings import ImapSettings

MAILS = 150
LEASE_S = 3


def _wait(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_readers_one_mailbox_standby_takes_over_exactly_once(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    dovecot: Dovecot,
    mailbox: ImapSettings,
) -> None:
    db: Database = request.getfixturevalue("sqlite_db" if kind == "sqlite" else "pg_db")
    fill_mailbox(mailbox, MAILS, domains=11, hash_every=4)
    env = worker_env(tmp_path / "data", db, dovecot, mailbox, lease_s=LEASE_S)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    procs = [start_worker(env, logs[0]), start_worker(env, logs[1])]
    lease = f"imap:{mailbox_key(mailbox)}"
    try:
        _wait(lambda: current_holder(db, lease) is not None, 60, "a reader to take the lease")
        _wait(lambda: count_rows(db, IntakeCallRow) >= 10, 60, "the first calls")
        holder = current_holder(db, lease)
        assert holder is not None
        active = next(i for i, p in enumerate(procs) if f":{p.pid}:" in holder)
        standby = 1 - active
        assert "connected to" not in logs[standby].read_text(errors="replace"), (
            "the standby read the mailbox while the other held the lease"
        )
        procs[active].send_signal(signal.SIGKILL)
        procs[active].wait()
        killed_with = count_rows(db, IntakeCallRow)
        assert killed_with < MAILS, "the kill came after all the work was done"

        _wait(lambda: folder_size(mailbox, "INBOX") == 0, 120, "the standby to empty INBOX")
        new_holder = current_holder(db, lease)
        assert new_holder is not None and f":{procs[standby].pid}:" in new_holder
        assert "taken over" in logs[standby].read_text(errors="replace") or (
            "acquired" in logs[standby].read_text(errors="replace")
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=60)
    print(f"\nlease takeover[{kind}]: {MAILS} mails, active killed at {killed_with} calls")
    assert count_rows(db, IntakeCallRow) == MAILS
    assert count_rows(db, IntakeReceiptRow) == MAILS
    with db.read() as s:
        subjects = s.scalars(select(IntakeCallRow.subject)).all()
    assert sorted(subjects) == sorted(f"Zgłoszenie {i}" for i in range(MAILS))
    assert folder_size(mailbox, PROCESSED_FOLDER) == MAILS
    # A clean stop gives the lease up at once.
    assert current_holder(db, lease) is None
