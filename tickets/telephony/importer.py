"""Call-log import: every call in the log, idempotent on the call's id, internal calls left out;
answered calls attach to their ZT event, unanswered ones from known callers wait for a call back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.db import Database
from tickets.core.orm import TicketRow
from tickets.core.phone_numbers import digits, to_e164
from tickets.core.schemas import SYSTEM
from tickets.core.services import record
from tickets.telephony.callbacks import resolve_callbacks
from tickets.telephony.cdr import CdrError, CdrFormat, CdrRecord, read_cdr
from tickets.telephony.lookup import find_party
from tickets.telephony.orm import CallRow
from tickets.telephony.settings import TelephonySettings
from tickets.telephony.statuses import line_by_extension

ATTACH_WINDOW = dt.timedelta(minutes=5)
"""A ZT event registered this close to a call (by its consultant, for its client) is its note."""
BATCH = 500


class CdrSummary(msgspec.Struct):
    imported: int = 0
    updated: int = 0
    """Calls already known (from live PBX events or an earlier row) completed by this log."""
    unchanged: int = 0
    skipped_internal: int = 0
    attached: int = 0
    """Answered calls tied to a ZT event."""
    errors: list[tuple[int, str]] = msgspec.field(default_factory=list)

    def describe(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {self.skipped_internal} internal, attached {self.attached} to ZT events, "
            f"{len(self.errors)} bad lines"
        )


class _Leg(msgspec.Struct):
    direction: str
    number: str
    extension: str | None


def _outside_party(rec: CdrRecord, settings: TelephonySettings) -> _Leg | None:
    """Which side is the outside world; None for a call between extensions."""
    if len(digits(rec.src)) >= settings.min_digits:
        ext = rec.dst_extension or (rec.dst if len(digits(rec.dst)) < settings.min_digits else None)
        return _Leg("inbound", rec.src, ext)
    if len(digits(rec.dst)) >= settings.min_digits:
        return _Leg("outbound", rec.dst, rec.src_extension or rec.src or None)
    return None


def import_record(
    session: Session, rec: CdrRecord, settings: TelephonySettings, summary: CdrSummary
) -> None:
    leg = _outside_party(rec, settings)
    if leg is None:
        summary.skipped_internal += 1
        return
    call = session.scalar(select(CallRow).where(CallRow.call_id == rec.call_id).with_for_update())
    if call is None:
        e164 = to_e164(leg.number)
        line = line_by_extension(session, leg.extension) if leg.extension else None
        call = CallRow(
            call_id=rec.call_id,
            source=rec.source,
            direction=leg.direction,
            number=leg.number,
            number_e164=e164,
            extension=leg.extension,
            user_id=line.user_id if line is not None else None,
            state="missed",
            started_at=rec.started_at,
        )
        party = find_party(session, e164)
        call.contact_id = party.contact.id if party.contact else None
        call.client_id = party.client.id if party.client else None
        call.partner_id = party.partner.id if party.partner else None
        session.add(call)
        summary.imported += 1
    elif not _completes(call, rec):
        summary.unchanged += 1
        return
    else:
        summary.updated += 1
    call.ended_at = call.ended_at or rec.ended_at
    if rec.answered_at is not None:
        call.answered_at = call.answered_at or rec.answered_at
        call.talk_s = rec.talk_s if rec.talk_s is not None else call.talk_s
        call.state = "ended"
    elif call.state == "ringing":
        call.state = "missed"
    session.flush()
    if call.state == "ended":
        if call.ticket_id is None and _attach_to_event(session, call):
            summary.attached += 1
        if call.number_e164:
            resolve_callbacks(
                session, call.number_e164, call.answered_at or call.started_at, call.user_id
            )


def _completes(call: CallRow, rec: CdrRecord) -> bool:
    """Whether a log row adds to what is known: an answer, a talk time or an end."""
    if rec.answered_at is not None and (call.answered_at is None or call.talk_s is None):
        return True
    return call.ended_at is None and rec.ended_at is not None


def _attach_to_event(session: Session, call: CallRow) -> bool:
    """Tie the call to the ZT event its consultant registered for it (when there is one)."""
    if call.user_id is None:
        return False
    start = call.started_at - ATTACH_WINDOW
    end = (call.ended_at or call.started_at) + ATTACH_WINDOW
    query = select(TicketRow).where(
        TicketRow.definition_code == "ZT",
        TicketRow.lead_consultant_id == call.user_id,
        TicketRow.reported_at >= start,
        TicketRow.reported_at <= end,
    )
    if call.client_id is not None:
        query = query.where(TicketRow.client_id == call.client_id)
    # The few events of that consultant in the window, the first not yet tied to a call (one
    # indexed probe each: a NOT IN over every call would grow with the whole call log).
    ticket = next(
        (
            t
            for t in session.scalars(query.order_by(TicketRow.reported_at).limit(10))
            if session.scalar(select(CallRow.id).where(CallRow.ticket_id == t.id).limit(1)) is None
        ),
        None,
    )
    if ticket is None:
        return False
    call.ticket_id = ticket.id
    record(session, ticket, SYSTEM, "call_attached", new=call.call_id, note=f"{call.talk_s or 0} s")
    session.flush()
    return True


def import_cdr(
    db: Database,
    lines: Iterable[str],
    fmt: CdrFormat,
    settings: TelephonySettings,
    tz: ZoneInfo,
) -> CdrSummary:
    """Import a call log; one transaction per batch, a bad row costs only itself."""
    summary = CdrSummary()
    batch: list[tuple[int, CdrRecord]] = []

    def flush_batch() -> None:
        with db.transaction() as session:
            for line_no, rec in batch:
                try:
                    with session.begin_nested():
                        import_record(session, rec, settings, summary)
                except Exception as exc:  # a row the database refuses: report it, go on
                    summary.errors.append((line_no, f"{type(exc).__name__}: {exc}"))
        batch.clear()

    for line_no, item in read_cdr(lines, fmt, tz):
        if isinstance(item, CdrError):
            summary.errors.append((line_no, str(item)))
            continue
        batch.append((line_no, item))
        if len(batch) >= BATCH:
            flush_batch()
    if batch:
        flush_batch()
    return summary


def import_cdr_file(
    db: Database, path: Path, fmt: CdrFormat, settings: TelephonySettings, tz: ZoneInfo
) -> CdrSummary:
    with path.open(encoding="utf-8", errors="replace", newline="") as lines:
        return import_cdr(db, lines, fmt, settings, tz)
