"""The dedupe ledger: one receipt per distinct incoming message, written with its outcome.

A message delivered twice, or re-read after a crash, finds its receipt and gets the first
result back, writing nothing new. The receipt outlives the call: a purged dropped call keeps
it, so the mailbox worker never imports that mail again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.orm import IntakeCallRow, IntakeReceiptRow

_KEY_MAX_BYTES: Final = 900
PURGED: Final = "purged"
"""Receipt outcome (and result status) of a call deleted by the purge of dropped calls."""

Outcome = Literal["call", "threaded", "quarantined"]


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one incoming message; `duplicate` when it had been seen before."""

    outcome: Outcome
    status: str
    """pending/accepted/dropped (or purged) for a call; `threaded`, or `reopened` when the
    reply reopened a completed ticket; `quarantined`."""
    call_id: int | None = None
    ticket_id: int | None = None
    quarantine_id: int | None = None
    classification: str | None = None
    duplicate: bool = False


def dedupe_key(message_id: str | None, raw_sha256: str) -> str:
    """The Message-ID, or `sha256:<raw hash>` without one (hashed when absurdly long)."""
    if not message_id:
        return f"sha256:{raw_sha256}"
    if len(message_id.encode("utf-8")) > _KEY_MAX_BYTES:
        return "mid-sha256:" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    return message_id


def call_result(call: IntakeCallRow, *, duplicate: bool = False) -> IngestResult:
    """What ingesting a mail that became (or already was) this call answers."""
    return IngestResult(
        outcome="call",
        status=call.status,
        call_id=call.id,
        ticket_id=call.ticket_id,
        classification=call.classification,
        duplicate=duplicate,
    )


def result_of(session: Session, receipt: IntakeReceiptRow, *, duplicate: bool) -> IngestResult:
    if receipt.outcome == "call" and receipt.call_id is not None:
        call = session.get(IntakeCallRow, receipt.call_id)
        if call is not None:
            return call_result(call, duplicate=duplicate)
    if receipt.outcome == PURGED:
        return IngestResult(outcome="call", status=PURGED, duplicate=duplicate)
    if receipt.outcome == "threaded":
        return IngestResult(
            outcome="threaded", status="threaded", ticket_id=receipt.ticket_id, duplicate=duplicate
        )
    return IngestResult(
        outcome="quarantined",
        status="quarantined",
        quarantine_id=receipt.quarantine_id,
        call_id=receipt.call_id,
        duplicate=duplicate,
    )


def record_receipt(session: Session, key: str, raw_sha256: str, outcome: str, **ids: int) -> None:
    session.add(IntakeReceiptRow(key=key, outcome=outcome, raw_sha256=raw_sha256, **ids))


def _first_time(session: Session) -> contextlib.AbstractContextManager[Any]:
    """Where a concurrent ingest of the same message can collide, isolate the work.

    SQLite writers are serialised (BEGIN IMMEDIATE): the receipt lookup already settles it.
    On PostgreSQL two transactions can both miss the receipt; the loser's unique violation
    rolls back only this savepoint, and it answers with the winner's result.
    """
    if session.get_bind().dialect.name == "sqlite":
        return contextlib.nullcontext()
    return session.begin_nested()


# Built once: most messages are new, and a cached, bound statement makes the miss cheap.
_RECEIPT_EXISTS: Final = select(IntakeReceiptRow.key).where(
    IntakeReceiptRow.key == bindparam("key")
)


def _seen(session: Session, key: str) -> IngestResult | None:
    if session.connection().execute(_RECEIPT_EXISTS, {"key": key}).first() is None:
        return None
    receipt = session.get(IntakeReceiptRow, key, populate_existing=True)
    return result_of(session, receipt, duplicate=True) if receipt is not None else None


def once(session: Session, key: str, work: Callable[[], IngestResult]) -> IngestResult:
    """Run `work` unless `key` was ingested before; then return the first result."""
    seen = _seen(session, key)
    if seen is not None:
        return seen
    try:
        with _first_time(session):
            result = work()
            session.flush()
            return result
    except IntegrityError:
        seen = _seen(session, key)
        if seen is None:
            raise
        return seen
