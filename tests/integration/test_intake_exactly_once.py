"""Exactly once: a worker process SIGKILLed at random points, and Dovecot restarted, while 500
mails wait in the mailbox, ends with 500 calls: none lost, none twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.imap import PROCESSED_FOLDER
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

MAILS = 500
KILLS = 6


def _wait_connected(log: Path, runs_before: int, proc: subprocess.Popen[bytes]) -> None:
    # Generous: importing the classifier's libraries takes many seconds on a loaded machine.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if log.read_text(errors="replace").count("connected to") > runs_before:
            return
        time.sleep(0.02)


# SQLite by default (about 1.5 min); SEDNO_EXACTLY_ONCE_DBS=sqlite,postgres adds PostgreSQL.
KINDS = os.environ.get("SEDNO_EXACTLY_ONCE_DBS", "sqlite").split(",")


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    [k if k == "sqlite" else pytest.param(k, marks=pytest.mark.postgres) for k in KINDS],
)
def test_sigkilled_worker_and_restarted_dovecot_lose_nothing_and_double_nothing(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    dovecot: Dovecot,
    mailbox: ImapSettings,
) -> None:
    db: Database = request.getfixturevalue(f"{'sqlite' if kind == 'sqlite' else 'pg'}_db")
    rng = random.Random(int(os.environ.get("SEDNO_TEST_SEED", time.time())))
    fill_mailbox(mailbox, MAILS, domains=37, hash_every=3)  # a third deduplicated by raw hash
    # A killed reader's successor waits for its lease to expire.
    env = worker_env(tmp_path / "data", db, dovecot, mailbox, lease_s=2)
    log = tmp_path / "worker.log"
    started = time.monotonic()
    mid_work_kills = 0
    for run in range(KILLS):
        proc = start_worker(env, log)
        _wait_connected(log, run, proc)
        time.sleep(rng.uniform(0.05, 0.6))
        if run == KILLS // 2:
            dovecot.restart()  # the worker loses its connection mid-batch and reconnects
            time.sleep(rng.uniform(0.5, 1.5))
        if count_rows(db, IntakeCallRow) < MAILS:
            mid_work_kills += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_with = count_rows(db, IntakeCallRow)

    final = start_worker(env, log)
    _wait_connected(log, KILLS, final)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and folder_size(mailbox, "INBOX") > 0:
        time.sleep(0.2)
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=120) == 0
    text = log.read_text(errors="replace")
    redone = text.count("not yet moved")
    print(
        f"\nexactly-once[{kind}]: {MAILS} mails, {KILLS} SIGKILLs ({killed_with} calls by then), "
        f"1 Dovecot restart, {redone} restart(s) found committed-but-unmoved mail, "
        f"{time.monotonic() - started:.1f}s"
    )
    assert count_rows(db, IntakeCallRow) == MAILS
    assert count_rows(db, IntakeReceiptRow) == MAILS
    with db.read() as s:
        subjects = s.scalars(select(IntakeCallRow.subject)).all()
    assert sorted(subjects) == sorted(f"Zgłoszenie {i}" for i in range(MAILS))
    assert folder_size(mailbox, "INBOX") == 0
    assert folder_size(mailbox, PROCESSED_FOLDER) == MAILS
    # A fast machine may finish before the last kill; at least one kill must land mid-work.
    assert mid_work_kills >= 1, "no kill interrupted the work"
