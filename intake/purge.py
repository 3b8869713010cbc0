"""Purge of dropped calls: gone for good some days after the drop, with their stored mail.

A dropped call stays visible and restorable (`RESTORE_DAYS`); `purge_dropped_after_days`
after the drop it is deleted with its attachments and its raw .eml, each blob only when
nothing else still refers to it. The dedupe receipt stays (marked `purged`), so the mailbox
worker, finding the same mail again, never imports it a second time.

Run once a day by the scheduler (`run_scheduled_purge`), whichever worker comes first.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Final, Protocol

import msgspec
from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from intake.orm import IntakeCallRow, IntakeReceiptRow, QuarantineRow
from intake.receipts import PURGED
from intake.settings import IntakeSettings
from tickets.core.attachments import BlobStore
from tickets.core.db import Database, utcnow
from tickets.core.orm import AttachmentRow
from tickets.core.runtime import Runtime
from tickets.curation.orm import ScheduledRunRow


class PurgeRuntime(Runtime, Protocol):
    """The purge's needs: the process parts and intake's settings."""

    @property
    def intake(self) -> IntakeSettings: ...


log = logging.getLogger("sedno.intake.purge")

PURGE_JOB: Final = "intake.purge_dropped"
BATCH: Final = 500
"""Calls deleted per transaction: short write locks on SQLite."""


class PurgeReport(msgspec.Struct, frozen=True, kw_only=True):
    calls: int
    blobs: int


def purge_dropped_batch(
    session: Session, older_than: dt.datetime, limit: int = BATCH
) -> tuple[int, set[str]]:
    """Delete up to `limit` calls dropped before `older_than` with their attachment rows;
    mark their receipts purged. Returns (calls deleted, blob hashes they referred to)."""
    calls = session.execute(
        select(IntakeCallRow.id, IntakeCallRow.raw_sha256, IntakeCallRow.message_id)
        .where(IntakeCallRow.status == "dropped", IntakeCallRow.dropped_at < older_than)
        .order_by(IntakeCallRow.id)
        .limit(limit)
        .with_for_update()
    ).all()
    if not calls:
        return 0, set()
    ids = [c.id for c in calls]
    hashes = {c.raw_sha256 for c in calls if c.raw_sha256}
    # Attachments of a dropped call belong to it alone (accepting moves them to the ticket).
    attachment_filter = (AttachmentRow.call_id.in_(ids), AttachmentRow.ticket_id.is_(None))
    hashes.update(session.scalars(select(AttachmentRow.sha256).where(*attachment_filter)))
    session.execute(delete(AttachmentRow).where(*attachment_filter))
    # A call's message_id is its receipt's key: the update goes by primary key.
    keys = [c.message_id for c in calls if c.message_id]
    session.execute(
        update(IntakeReceiptRow)
        .where(IntakeReceiptRow.key.in_(keys), IntakeReceiptRow.outcome == "call")
        .values(outcome=PURGED)
    )
    session.execute(delete(IntakeCallRow).where(IntakeCallRow.id.in_(ids)))
    session.flush()
    return len(ids), hashes


def blob_in_use(session: Session, sha256: str) -> bool:
    """Whether a call, a quarantined mail or an attachment still refers to the blob."""
    return bool(
        session.scalar(
            select(
                exists().where(IntakeCallRow.raw_sha256 == sha256)
                | exists().where(QuarantineRow.raw_sha256 == sha256)
                | exists().where(AttachmentRow.sha256 == sha256)
            )
        )
    )


def purge_dropped_calls(
    db: Database, blobs: BlobStore, settings: IntakeSettings, now: dt.datetime | None = None
) -> PurgeReport:
    """Delete every call dropped over `purge_dropped_after_days` ago, batch by batch, and
    then the blobs only they used. Each batch is one committed transaction; files go after
    the commit (a rolled-back batch must not have lost its mail)."""
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.purge_dropped_after_days)
    calls = blobs_deleted = 0
    while True:
        with db.transaction() as session:
            deleted, hashes = purge_dropped_batch(session, cutoff)
        calls += deleted
        for sha256 in sorted(hashes):
            with db.read() as session:
                if blob_in_use(session, sha256):
                    continue
            blobs_deleted += blobs.delete(sha256)
        if deleted < BATCH:
            break
    if calls:
        log.info("purged %d dropped call(s) and %d stored file(s)", calls, blobs_deleted)
    return PurgeReport(calls=calls, blobs=blobs_deleted)


def run_scheduled_purge(container: PurgeRuntime, now: dt.datetime | None = None) -> str | None:
    """Called every minute by every worker: purges once a day (UTC), whoever comes first.
    Returns the day it ran for, or None. A run that fails is not retried that day; the next
    day's run catches up (it purges by age, not by day)."""
    from tickets.curation.schedule import claim_run

    now = now or utcnow()
    settings = container.intake
    day = now.astimezone(dt.UTC).date().isoformat()
    with container.db.read() as session:  # the usual answer, without taking a write lock
        if session.get(ScheduledRunRow, (PURGE_JOB, day)) is not None:
            return None
    with container.db.transaction() as session:
        if not claim_run(session, PURGE_JOB, day, f"pid:{os.getpid()}"):
            return None
    purge_dropped_calls(container.db, container.blobs, settings, now)
    return day
