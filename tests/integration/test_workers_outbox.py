"""Two outbox worker processes on PostgreSQL; one is SIGKILLed mid-work: every job is done, its
effect recorded exactly once, the killed worker's claimed jobs redone by the other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.cluster.outbox_proc import KIND, create_tables
from tickets.core.db import Database
from tickets.core.outbox import OutboxJobRow, enqueue

REPO = Path(__file__).resolve().parents[2]
JOBS = 400
LEASE_S = 2


def _done(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).where(OutboxJobRow.status == "done")) or 0)


def _held_by(db: Database, worker: str) -> int:
    with db.read() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    OutboxJobRow.status == "pending", OutboxJobRow.locked_by == worker
                )
            )
            or 0
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_killed_outbox_worker_loses_and_doubles_nothing(pg_db: Database, tmp_path: Path) -> None:
    create_tables(pg_db)
    with pg_db.transaction() as session:
        for i in range(JOBS):
            enqueue(session, KIND, {"key": f"job-{i}"})
    env = {**os.environ, "PYTHONPATH": str(REPO), "TEST_WORK_S": "0.02"}
    procs = []
    for name in ("a", "b"):
        out = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.cluster.outbox_proc", pg_db.url, str(LEASE_S)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=out,
            )
        )
    victim = procs[0]
    try:
        deadline = time.monotonic() + 60
        while _done(pg_db) < JOBS // 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        while _held_by(pg_db, f"w{victim.pid}") == 0 and time.monotonic() < deadline:
            time.sleep(0.001)  # kill it while it holds claimed jobs
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        held = _held_by(pg_db, f"w{victim.pid}")
        done_at_kill = _done(pg_db)
        assert done_at_kill < JOBS, "the kill came after all the work was done"
        deadline = time.monotonic() + 120
        while _done(pg_db) < JOBS and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    with pg_db.read() as s:
        statuses = dict(
            s.execute(select(OutboxJobRow.status, func.count()).group_by(OutboxJobRow.status)).all()
        )
        effects = s.execute(text("SELECT key, count(*) FROM test_effects GROUP BY key")).all()
        redone = s.scalar(select(func.count()).where(OutboxJobRow.attempts > 1))
        workers = {r[0] for r in s.execute(text("SELECT DISTINCT worker FROM test_effects"))}
        # Jobs started more than once: only those the victim had claimed when it died.
        retried = s.execute(
            text(
                "SELECT job_id, string_agg(worker, ',' ORDER BY worker) FROM test_attempts "
                "GROUP BY job_id HAVING count(*) > 1"
            )
        ).all()
    print(
        f"\noutbox kill: {JOBS} jobs, victim held {held} claimed jobs at the kill "
        f"({done_at_kill} done), {redone} job(s) redone after its lease expired"
    )
    assert statuses == {"done": JOBS}
    assert sorted(k for k, _ in effects) == sorted(f"job-{i}" for i in range(JOBS))
    assert all(n == 1 for _, n in effects)
    assert held > 0 and redone is not None and redone >= 1, "the kill interrupted no claimed job"
    assert len(workers) == 2
    assert len(retried) <= held
    assert all(f"w{victim.pid}" in who for _, who in retried), retried
