"""Azure DevOps's `Retry-After`, kept in the database so that every process honours it.

A 429 or 503 with `Retry-After` seen by the outbox worker must also hold the admin routes of
every API replica (and the other way round): an early call only extends the penalty. The
client's in-process `RetryGate` is backed here by one row per organisation holding the
moment calls may start again; the row is read before each call and only ever moved later.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import String
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, Database, utcnow
from tickets.handoff.azure_devops import RetryGate

log = logging.getLogger("sedno.devops")


class DevOpsRetryAfterRow(Base):
    """Until when Azure DevOps asked an organisation's clients to wait (`Retry-After`)."""

    __tablename__ = "devops_retry_after"

    organisation: Mapped[str] = mapped_column(String(400), primary_key=True)
    """The organisation URL, lower-cased without a trailing slash."""
    until: Mapped[dt.datetime]


def organisation_key(org_url: str) -> str:
    return org_url.rstrip("/").casefold()


class StoredRetryGate(RetryGate):
    """A `RetryGate` whose pauses are also written to, and read from, the database."""

    def __init__(self, db: Database, org_url: str, local: RetryGate | None = None) -> None:
        super().__init__()
        self._db = db
        self._key = organisation_key(org_url)
        self._local = local if local is not None else RetryGate()

    def allowed_at(self) -> float:
        moment = self._local.allowed_at()
        try:
            with self._db.read() as s:
                row = s.get(DevOpsRetryAfterRow, self._key)
                until = row.until if row is not None else None
        except SQLAlchemyError as exc:  # the database has its own retries; keep the local pause
            log.warning("cannot read the stored Retry-After: %s", exc)
            return moment
        if until is None:
            return moment
        remaining = (until - utcnow()).total_seconds()
        return max(moment, time.monotonic() + remaining) if remaining > 0 else moment

    def hold_off(self, seconds: float) -> None:
        self._local.hold_off(seconds)
        until = utcnow() + dt.timedelta(seconds=seconds)
        try:
            with self._db.transaction() as s:
                row = s.get(DevOpsRetryAfterRow, self._key, with_for_update=not self._db.is_sqlite)
                if row is None:
                    s.add(DevOpsRetryAfterRow(organisation=self._key, until=until))
                elif row.until < until:
                    row.until = until
        except SQLAlchemyError as exc:
            log.warning("cannot store Retry-After of %.0f s: %s", seconds, exc)


def forget_stored_retry_after(db: Database) -> None:
    """Drop every stored pause (tests that reset the stand-in)."""
    with db.transaction() as s:
        s.query(DevOpsRetryAfterRow).delete()
