"""The outbox: side effects written in the transaction that causes them, carried out after it.

A job is claimed under a lease (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's
`BEGIN IMMEDIATE` serialises claimers), run outside any transaction, then marked done. A worker
that dies leaves its lease to expire and another picks the job up, so handlers are idempotent.

A batch handler wrapped in `Coalesced` has its jobs gathered: a long-running worker claims that
kind only once its oldest due job has waited the window, then takes every due job of the kind
at once (search indexing: one index commit for all the updates of a second, not one each).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Integer, String, Text, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.core.db import Base, Database, utcnow

log = logging.getLogger("sedno.outbox")

MAX_BACKOFF_S = 900.0

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sedno_request_id", default=None
)
"""The id of the request (or of the outbox job's originating request) being served now; set by
`api.middleware` per request and by the worker per job, read by `enqueue` and the log filter."""


class OutboxJobRow(Base):
    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()


class OutboxJob(msgspec.Struct, frozen=True):
    """A claimed job as a handler sees it."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime
    request_id: str | None = None


class RetryLater(Exception):
    """The job could not be done now (dependency down, rate limit); try again after `delay_s`."""

    def __init__(self, reason: str, delay_s: float | None = None) -> None:
        super().__init__(reason)
        self.delay_s = delay_s


class PermanentFailure(Exception):
    """The job can never succeed (bad data, rejected by the remote); keep it as `dead`."""


def enqueue(
    session: Session,
    kind: str,
    payload: Mapping[str, Any],
    *,
    delay_s: float = 0.0,
    request_id: str | None = None,
) -> OutboxJobRow:
    """Add a job in the caller's transaction; it runs only if that transaction commits."""
    row = OutboxJobRow(
        kind=kind,
        payload=dict(payload),
        available_at=utcnow() + dt.timedelta(seconds=delay_s),
        request_id=request_id if request_id is not None else request_id_var.get(),
    )
    session.add(row)
    return row


SingleHandler = Callable[[OutboxJob], None]
BatchHandler = Callable[[Sequence[OutboxJob]], None]


class Coalesced:
    """A batch handler whose jobs wait up to `window_s` in the queue to be run together."""

    def __init__(self, handler: BatchHandler, window_s: float) -> None:
        self.handler = handler
        self.window_s = window_s

    def __call__(self, jobs: Sequence[OutboxJob]) -> None:
        self.handler(jobs)


def coalesce_window_s(handler: object) -> float:
    return handler.window_s if isinstance(handler, Coalesced) else 0.0


def backoff_s(attempts: int) -> float:
    return float(min(MAX_BACKOFF_S, 2 ** min(attempts, 12)))


class OutboxWorker:
    """Claims due jobs, runs their handlers, records success or schedules a retry."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, SingleHandler] | None = None,
        batch_handlers: Mapping[str, BatchHandler] | None = None,
        *,
        worker_id: str | None = None,
        batch_size: int = 50,
        lease_s: float = 120.0,
        kinds: Sequence[str] | None = None,
    ) -> None:
        self.db = db
        self.handlers = dict(handlers or {})
        self.batch_handlers = dict(batch_handlers or {})
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.kinds = list(kinds) if kinds is not None else None

    @property
    def known_kinds(self) -> list[str]:
        return self.kinds or sorted({*self.handlers, *self.batch_handlers})

    def _ripe_kinds(self, session: Session, now: dt.datetime) -> list[str]:
        """Known kinds, less the coalesced ones whose oldest due job is younger than its window."""
        kinds = []
        for kind in self.known_kinds:
            window = coalesce_window_s(self.batch_handlers.get(kind))
            if window > 0:
                oldest_due = session.scalar(
                    select(OutboxJobRow.id)
                    .where(
                        OutboxJobRow.kind == kind,
                        OutboxJobRow.status == "pending",
                        OutboxJobRow.available_at <= now - dt.timedelta(seconds=window),
                        (OutboxJobRow.locked_until.is_(None)) | (OutboxJobRow.locked_until < now),
                    )
                    .limit(1)
                )
                if oldest_due is None:
                    continue
            kinds.append(kind)
        return kinds

    def claim(self, *, coalesce: bool = False) -> list[OutboxJob]:
        """Lease up to `batch_size` due jobs; `coalesce` holds back young coalesced batches."""
        now = utcnow()
        with self.db.transaction() as session:
            kinds = self._ripe_kinds(session, now) if coalesce else self.known_kinds
            if not kinds:
                return []
            query = (
                select(OutboxJobRow)
                .where(
                    OutboxJobRow.status == "pending",
                    OutboxJobRow.available_at <= now,
                    OutboxJobRow.kind.in_(kinds),
                    (OutboxJobRow.locked_until.is_(None)) | (OutboxJobRow.locked_until < now),
                )
                .order_by(OutboxJobRow.id)
                .limit(self.batch_size)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            lease_until = now + dt.timedelta(seconds=self.lease_s)
            for row in rows:
                row.locked_by = self.worker_id
                row.locked_until = lease_until
                row.attempts += 1
            return [
                OutboxJob(
                    id=r.id,
                    kind=r.kind,
                    payload=dict(r.payload),
                    attempts=r.attempts,
                    created_at=r.created_at,
                    request_id=r.request_id,
                )
                for r in rows
            ]

    def _finish(self, job: OutboxJob, error: BaseException | None) -> None:
        with self.db.transaction() as session:
            row = session.get(OutboxJobRow, job.id, with_for_update=not self.db.is_sqlite)
            if row is None or row.locked_by != self.worker_id or row.status != "pending":
                return  # our lease expired and someone else owns it now
            row.locked_by = None
            row.locked_until = None
            if error is None:
                row.status = "done"
                row.done_at = utcnow()
                row.last_error = None
            elif isinstance(error, PermanentFailure):
                row.status = "dead"
                row.last_error = f"{type(error).__name__}: {error}"
                log.error("outbox job %s (%s) failed for good: %s", job.id, job.kind, error)
            else:
                delay = (
                    error.delay_s
                    if isinstance(error, RetryLater) and error.delay_s is not None
                    else backoff_s(row.attempts)
                )
                row.available_at = utcnow() + dt.timedelta(seconds=delay)
                row.last_error = f"{type(error).__name__}: {error}"[:4000]
                log.warning(
                    "outbox job %s (%s) will retry in %.1fs: %s", job.id, job.kind, delay, error
                )

    def run_once(self, *, coalesce: bool = False) -> int:
        """Claim and run one batch; return how many jobs were claimed."""
        jobs = self.claim(coalesce=coalesce)
        by_kind: dict[str, list[OutboxJob]] = {}
        for job in jobs:
            by_kind.setdefault(job.kind, []).append(job)
        for kind, group in by_kind.items():
            if kind in self.batch_handlers:
                # One request id for the batch's logs when its jobs share one, else none.
                ids = {job.request_id for job in group}
                token = request_id_var.set(ids.pop() if len(ids) == 1 else None)
                try:
                    self.batch_handlers[kind](group)
                    error: BaseException | None = None
                except Exception as exc:
                    log.debug("batch %s failed: %s", kind, traceback.format_exc())
                    error = exc
                finally:
                    request_id_var.reset(token)
                for job in group:
                    self._run_as_request(job, functools.partial(self._finish, job, error))
            else:
                for job in group:
                    self._run_as_request(job, functools.partial(self._run_single, job))
        return len(jobs)

    def _run_single(self, job: OutboxJob) -> None:
        try:
            self.handlers[job.kind](job)
            self._finish(job, None)
        except Exception as exc:
            log.debug("job %s failed: %s", job.id, traceback.format_exc())
            self._finish(job, exc)

    @staticmethod
    def _run_as_request(job: OutboxJob, work: Callable[[], None]) -> None:
        """Run `work` with the job's originating request id in the context (for the logs)."""
        token = request_id_var.set(job.request_id)
        try:
            work()
        finally:
            request_id_var.reset(token)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Run until no due job is left (tests, CLI); nothing waits for a coalescing window."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.run_once() == 0:
                return

    def run_forever(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                claimed = self.run_once(coalesce=True)
            except Exception:
                log.exception("outbox worker loop error; retrying")
                claimed = 0
            if claimed == 0:
                stop.wait(poll_s)


def pending_stats(session: Session) -> dict[str, Any]:
    """Queue depth and the age of the oldest pending job, for /ready and /metrics."""
    rows = session.execute(
        select(OutboxJobRow.kind, func.count(), func.min(OutboxJobRow.created_at))
        .where(OutboxJobRow.status == "pending")
        .group_by(OutboxJobRow.kind)
    ).all()
    now = utcnow()
    out: dict[str, Any] = {}
    for kind, count, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        out[kind] = {
            "pending": int(count),
            "oldest_age_s": (now - oldest).total_seconds() if oldest else 0.0,
        }
    return out


def retry_now(session: Session, kind: str | None = None) -> int:
    """Make waiting jobs due at once (after an outage is over)."""
    stmt = update(OutboxJobRow).where(OutboxJobRow.status == "pending")
    if kind:
        stmt = stmt.where(OutboxJobRow.kind == kind)
    result = session.execute(stmt.values(available_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)
