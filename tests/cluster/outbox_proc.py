"""A test-only outbox worker process: `python -m tests.cluster.outbox_proc DB_URL`.

It runs the real `OutboxWorker` (short lease, small batches) with one job kind, `test.effect`,
whose handler records its effect in `test_effects` (unique key = the job's payload key) and
every attempt in `test_attempts`. A redo of a job whose effect was already committed (its first
worker died before marking it done) finds the unique row and does nothing: the idempotence every
real handler has.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tickets.core.db import Database
from tickets.core.outbox import OutboxJob, OutboxWorker

KIND = "test.effect"
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS test_effects (key VARCHAR(64) PRIMARY KEY, worker VARCHAR(64))",
    "CREATE TABLE IF NOT EXISTS test_attempts (job_id INTEGER, worker VARCHAR(64))",
)


def create_tables(db: Database) -> None:
    with db.transaction() as session:
        for statement in SCHEMA:
            session.execute(text(statement))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    db = Database(sys.argv[1])
    me = f"w{os.getpid()}"
    work_s = float(os.environ.get("TEST_WORK_S", "0.02"))

    def record_effect(job: OutboxJob) -> None:
        with db.transaction() as session:
            session.execute(
                text("INSERT INTO test_attempts (job_id, worker) VALUES (:j, :w)"),
                {"j": job.id, "w": me},
            )
        time.sleep(work_s)  # the work itself, where a kill lands
        try:
            with db.transaction() as session:
                session.execute(
                    text("INSERT INTO test_effects (key, worker) VALUES (:k, :w)"),
                    {"k": job.payload["key"], "w": me},
                )
        except IntegrityError:
            pass  # done by a worker that died before marking the job done

    worker = OutboxWorker(
        db, {KIND: record_effect}, worker_id=me, batch_size=5, lease_s=float(sys.argv[2])
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"outbox test worker {me} ready", flush=True)
    worker.run_forever(stop, poll_s=0.1)


if __name__ == "__main__":
    main()
