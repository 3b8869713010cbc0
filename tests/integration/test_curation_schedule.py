"""The weekly digest: one per curator per week, however many workers race for it."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from sqlalchemy import select

from api.bootstrap import make_outbox_worker
from api.container import Container
from tickets.accounts.auth import create_user
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import UserRow
from tickets.core.outbox import OutboxJobRow, enqueue
from tickets.core.settings import load_settings
from tickets.curation.schedule import DIGEST_JOB, due_period, run_scheduled
from tickets.curation.weeks import CurationSettings

MONDAY_0705_WARSAW = dt.datetime(2026, 3, 9, 6, 5, tzinfo=dt.UTC)


def _worker_container(db: Database, tmp_path: Path, name: str) -> Container:
    """A second process's view: its own engine on the same database."""
    settings = load_settings(
        {"SEDNO_DATA_DIR": str(tmp_path / name), "SEDNO_DATABASE_URL": db.url,
         "SEDNO_MAIL_FROM": "Sedno <pomoc@sedno.test>"}
    )  # fmt: skip
    container = Container(settings=settings, db=Database(db.url), blobs=BlobStore(tmp_path / name))
    container.curation = CurationSettings(day=0, hour=7)
    return container


def _race(containers: list[Container], now: dt.datetime) -> list[list[str]]:
    barrier = threading.Barrier(len(containers))
    results: list[list[str]] = [[] for _ in containers]

    def run(i: int) -> None:
        barrier.wait()
        results[i] = run_scheduled(containers[i], now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(containers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _drain_together(containers: list[Container]) -> None:
    threads = [
        threading.Thread(target=make_outbox_worker(c, worker_id=f"w{i}").drain)
        for i, c in enumerate(containers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _digests(db: Database) -> list[tuple[str, str]]:
    with db.read() as s:
        jobs = s.scalars(select(OutboxJobRow).where(OutboxJobRow.kind == "mail.send"))
        return sorted((j.payload["to"][0], j.payload["subject"]) for j in jobs)


def test_due_period_follows_configured_day_and_hour() -> None:
    monday7 = CurationSettings(day=0, hour=7)
    assert due_period(MONDAY_0705_WARSAW - dt.timedelta(minutes=10), monday7) is None  # 06:55
    assert due_period(MONDAY_0705_WARSAW, monday7) == "2026-W11"
    friday15 = CurationSettings(day=4, hour=15)
    assert due_period(MONDAY_0705_WARSAW, friday15) is None
    assert due_period(dt.datetime(2026, 3, 13, 14, 0, tzinfo=dt.UTC), friday15) == "2026-W11"


def test_two_workers_send_one_digest_per_curator_per_week(db: Database, tmp_path: Path) -> None:
    with db.transaction() as s:
        create_user(s, login="k1", name="K1", role="curator", email="k1@sedno.test")
        create_user(s, login="k2", name="K2", role="curator", email="k2@sedno.test")
        opted, _ = create_user(s, login="k3", name="K3", role="curator", email="k3@sedno.test")
        opted.notify_opt_out = True
        create_user(s, login="k4", name="K4", role="curator")  # no address
        create_user(s, login="c1", name="C1", role="consultant", email="c1@sedno.test")
    workers = [_worker_container(db, tmp_path, "a"), _worker_container(db, tmp_path, "b")]
    try:
        before = _race(workers, MONDAY_0705_WARSAW - dt.timedelta(hours=1))
        assert before == [[], []]
        started = _race(workers, MONDAY_0705_WARSAW)
        assert sorted(started) == [[], ["2026-W11"]]
        _drain_together(workers)
        subject = "Sedno: kuracja bazy wiedzy, tydzień 2026-W10"
        assert _digests(db) == [("k1@sedno.test", subject), ("k2@sedno.test", subject)]

        # Later the same week, and the digest job delivered twice: nothing more goes out.
        assert _race(workers, MONDAY_0705_WARSAW + dt.timedelta(days=2)) == [[], []]
        with db.transaction() as s:
            enqueue(s, DIGEST_JOB, {"week": "2026-W10"})
        _drain_together(workers)
        assert len(_digests(db)) == 2

        # The next week has its own digest.
        assert sorted(_race(workers, MONDAY_0705_WARSAW + dt.timedelta(days=7))) == [
            [], ["2026-W12"]]  # fmt: skip
        _drain_together(workers)
        assert len(_digests(db)) == 4
        with db.read() as s:
            payload = s.scalars(
                select(OutboxJobRow.payload).where(OutboxJobRow.kind == "mail.send")
            ).first()
            assert payload is not None and "Rozwiązane zgłoszenia: 0" in payload["text"]
            assert payload["message_id"].startswith("<sedno.curation.2026-W10.")
            assert s.scalar(select(UserRow.email).where(UserRow.login == "k3")) == "k3@sedno.test"
    finally:
        for c in workers:
            c.db.dispose()
