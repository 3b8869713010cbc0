"""Tickets created per second on SQLite and PostgreSQL with 1 and 8 writers.

python -m tests.bench.numbering [--tickets N]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from api.bootstrap import TABLE_MODULES
from tests.services.postgres import create_database, drop_database, postgres_server
from tickets.core.db import Database
from tickets.core.definitions import seed_defaults
from tickets.core.orm import TicketRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket


def _run(db: Database, writers: int, total: int) -> float:
    per = total // writers
    barrier = threading.Barrier(writers + 1)

    def work() -> None:
        barrier.wait()
        for i in range(per):
            with db.transaction() as s:
                create_ticket(
                    s, SYSTEM, TicketCreate(title=f"Błąd faktury {i}", description="opis " * 20)
                )

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    with db.read() as s:
        seqs = sorted(s.scalars(select(TicketRow.seq)))
        assert seqs == list(range(1, len(seqs) + 1)), "gap or repeat in numbers"
        assert s.scalar(select(func.count()).select_from(TicketRow)) == per * writers
    return per * writers / elapsed


def _fresh(db: Database) -> Database:
    assert TABLE_MODULES  # the composition root has imported every table
    db.create_all()
    with db.transaction() as s:
        seed_defaults(s)
    return db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    print(f"tickets per run: {args.tickets}")
    print(f"{'database':<12}{'writers':>8}{'tickets/s':>12}")
    for writers in (1, 8):
        with tempfile.TemporaryDirectory() as tmp:
            db = _fresh(Database(f"sqlite:///{Path(tmp) / 'b.db'}"))
            print(f"{'sqlite':<12}{writers:>8}{_run(db, writers, args.tickets):>12.0f}")
            db.dispose()
    with postgres_server() as admin:
        for writers in (1, 8):
            url = create_database(admin)
            db = _fresh(Database(url))
            print(f"{'postgresql':<12}{writers:>8}{_run(db, writers, args.tickets):>12.0f}")
            db.dispose()
            drop_database(admin, url)


if __name__ == "__main__":
    main()
