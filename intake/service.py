"""Use cases of the intake queue. Services flush; the caller (worker, request) commits.

One incoming message is one transaction: `ingest_mail` writes the dedupe receipt together with
its outcome (a call, a message threaded onto a ticket, or a quarantine entry), so a message
delivered twice, or re-read after a crash, gives back the first result and nothing new.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading as _threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import msgspec
from sqlalchemy import func, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.settings import Settings
from intake import form as web_form
from intake.ack import LOOP_HEADER, enqueue_ack
from intake.classify import Classification, ClassifyContext, classify
from intake.orm import IntakeCallRow, IntakeReceiptRow, QuarantineRow, SpamModelRow
from intake.parse import ParsedMail, ParseError, parse_mail
from intake.spam import SpamModel
from intake.threading import ThreadMatch, find_thread
from tickets import definitions as defs
from tickets.adapters.db import Database, utcnow
from tickets.adapters.orm import (
    AttachmentRow,
    ClientRow,
    ContactRow,
    LicenceRow,
    PartnerRow,
    TicketMessageRow,
    TicketRow,
)
from tickets.adapters.outbox import BatchHandler, OutboxJob, enqueue
from tickets.attachments import BlobStore, add_attachment
from tickets.domain.errors import Conflict, NotFound, ValidationFailed
from tickets.schemas import SYSTEM, Actor, TicketCreate
from tickets.services import create_ticket, record

log = logging.getLogger("sedno.intake")

SPAM_LEARN_JOB: Final = "intake.spam_learn"
DROP_REASONS: Final = ("spam", "not_ours", "duplicate")
RESTORE_DAYS: Final = 30
"""A dropped call stays visible and restorable this long."""
_MODEL_NAME: Final = "default"
MODEL_RECHECK_S: Final = 2.0
"""How often ingest looks for a newer stored spam model."""
_KEY_MAX_BYTES: Final = 900

Outcome = Literal["call", "threaded", "quarantined"]


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one incoming message; `duplicate` when it had been seen before."""

    outcome: Outcome
    status: str
    """pending/accepted/dropped for a call, `threaded`, or `quarantined`."""
    call_id: int | None = None
    ticket_id: int | None = None
    quarantine_id: int | None = None
    classification: str | None = None
    duplicate: bool = False


class CallSummary(msgspec.Struct, kw_only=True):
    """A row of the intake queue."""

    id: int
    source: str
    status: str
    classification: str
    reason: str
    score: float
    sender: str
    sender_name: str
    subject: str
    received_at: dt.datetime
    ticket_id: int | None
    possible_ticket_id: int | None
    drop_reason: str | None
    dropped_at: dt.datetime | None
    auto_dropped: bool


class CallPage(msgspec.Struct, kw_only=True):
    items: list[CallSummary]
    total: int


class CallDetail(CallSummary, kw_only=True):
    """One call with its content, for the decision screen."""

    body_text: str
    body_html: str | None
    message_id: str | None
    raw_sha256: str | None
    client_id: int | None
    partner_id: int | None
    contact_id: int | None
    licence: str | None
    product: str
    decided_by: str | None
    decided_at: dt.datetime | None
    attachments: list[dict[str, Any]]


class FormReceipt(msgspec.Struct, frozen=True):
    """`202 {call_id, status}` for the web form; a honeypot hit reads like any other."""

    call_id: int
    status: str


class KnownSender(msgspec.Struct, frozen=True):
    client_id: int | None = None
    partner_id: int | None = None
    contact_id: int | None = None


class IntakeContext:
    """What intake needs besides a session: settings, the blob store, the current spam model."""

    def __init__(
        self,
        settings: Settings,
        *,
        blobs: BlobStore | None = None,
        spam_model: SpamModel | None = None,
        form_limits: web_form.FormLimits = web_form.DEFAULT_LIMITS,
    ) -> None:
        self.settings = settings
        self.blobs = blobs or BlobStore(settings.data_dir / "blobs")
        self.form_limits = form_limits
        self._fixed_model = spam_model
        self._model: SpamModel | None = None
        self._model_version: int | None = None
        self._model_checked = -1e9
        self._lock = _threading.Lock()
        mail_from = settings.mail_from.rsplit("<", 1)[-1].strip(" >").lower()
        self.own_addresses: tuple[str, ...] = (mail_from,) if "@" in mail_from else ()
        if settings.imap and "@" in settings.imap.user:
            self.own_addresses += (settings.imap.user.lower(),)

    def spam_model(self, session: Session) -> SpamModel | None:
        """The stored model, reloaded only when its version changed."""
        if self._fixed_model is not None:
            return self._fixed_model
        if time.monotonic() - self._model_checked < MODEL_RECHECK_S:
            return self._model
        version = session.scalar(
            select(SpamModelRow.version).where(SpamModelRow.name == _MODEL_NAME)
        )
        with self._lock:
            if version != self._model_version:
                data = session.scalar(
                    select(SpamModelRow.data).where(SpamModelRow.name == _MODEL_NAME)
                )
                self._model = SpamModel.from_bytes(data) if data else None
                self._model_version = version
            self._model_checked = time.monotonic()
            return self._model


# Dedupe ------------------------------------------------------------------------------------


def dedupe_key(message_id: str | None, raw_sha256: str) -> str:
    """The Message-ID, or `sha256:<raw hash>` without one (hashed when absurdly long)."""
    if not message_id:
        return f"sha256:{raw_sha256}"
    if len(message_id.encode("utf-8")) > _KEY_MAX_BYTES:
        return "mid-sha256:" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()
    return message_id


def _result_of(session: Session, receipt: IntakeReceiptRow, *, duplicate: bool) -> IngestResult:
    if receipt.outcome == "call" and receipt.call_id is not None:
        call = session.get(IntakeCallRow, receipt.call_id)
        if call is not None:
            return IngestResult(
                outcome="call",
                status=call.status,
                call_id=call.id,
                ticket_id=call.ticket_id,
                classification=call.classification,
                duplicate=duplicate,
            )
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


def _record_receipt(session: Session, key: str, raw_sha256: str, outcome: str, **ids: int) -> None:
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


def _seen(session: Session, key: str) -> IngestResult | None:
    receipt = session.get(IntakeReceiptRow, key, populate_existing=True)
    return _result_of(session, receipt, duplicate=True) if receipt is not None else None


def _once(session: Session, key: str, work: Callable[[], IngestResult]) -> IngestResult:
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


# Ingest ------------------------------------------------------------------------------------


def quarantine_raw(
    session: Session,
    ctx: IntakeContext,
    raw: bytes,
    reason: str,
    *,
    source: str = "mail",
    source_info: dict[str, Any] | None = None,
) -> IngestResult:
    """Keep bytes that could not be ingested, with the reason; deduplicated on the raw hash."""
    raw_sha256 = ctx.blobs.put(raw)
    key = f"sha256:{raw_sha256}"

    def work() -> IngestResult:
        row = QuarantineRow(
            raw_sha256=raw_sha256,
            size=len(raw),
            reason=reason[:4000],
            source=source,
            source_info=dict(source_info or {}),
        )
        session.add(row)
        session.flush()
        _record_receipt(session, key, raw_sha256, "quarantined", quarantine_id=row.id)
        log.warning("quarantined %s (%d bytes): %s", raw_sha256[:12], len(raw), reason)
        return IngestResult(outcome="quarantined", status="quarantined", quarantine_id=row.id)

    return _once(session, key, work)


def known_sender(session: Session, address: str) -> KnownSender | None:
    """The directory entry an address belongs to: a contact, else a client, else a partner."""
    if not address:
        return None
    contacts = (
        select(
            literal(0).label("rank"),
            ContactRow.id.label("contact_id"),
            ContactRow.client_id.label("client_id"),
            func.coalesce(ContactRow.partner_id, ClientRow.partner_id).label("partner_id"),
        )
        .outerjoin(ClientRow, ClientRow.id == ContactRow.client_id)
        .where(func.lower(ContactRow.email) == address)
    )
    clients = select(literal(1), literal(None), ClientRow.id, ClientRow.partner_id).where(
        func.lower(ClientRow.email) == address
    )
    partners = select(literal(2), literal(None), literal(None), PartnerRow.id).where(
        func.lower(PartnerRow.email) == address
    )
    union = union_all(contacts, clients, partners).subquery()
    row = session.execute(select(union).order_by(union.c.rank).limit(1)).first()
    if row is None:
        return None
    return KnownSender(
        client_id=row.client_id, partner_id=row.partner_id, contact_id=row.contact_id
    )


def sender_count_last_hour(session: Session, address: str) -> int:
    if not address:
        return 0
    since = utcnow() - dt.timedelta(hours=1)
    count = session.scalar(
        select(func.count())
        .select_from(IntakeCallRow)
        .where(IntakeCallRow.sender == address, IntakeCallRow.received_at >= since)
    )
    return int(count or 0)


def classify_mail(
    session: Session, ctx: IntakeContext, mail: ParsedMail, known: KnownSender | None
) -> Classification:
    settings = ctx.settings
    sender = mail.sender.address.lower() if mail.sender else ""
    context = ClassifyContext(
        own_domain=settings.mail_domain,
        own_addresses=ctx.own_addresses,
        loop_header=LOOP_HEADER,
        sender_count_last_hour=sender_count_last_hour(session, sender),
        max_per_sender_per_hour=settings.sender_max_per_hour,
        known_sender=known is not None,
        spam_model=ctx.spam_model(session),
        spamd=(settings.spamd_host, settings.spamd_port) if settings.spamd_host else None,
    )
    return classify(mail, context)


def _store_attachments(
    session: Session,
    ctx: IntakeContext,
    mail: ParsedMail,
    *,
    call_id: int | None = None,
    ticket_id: int | None = None,
    message_id: int | None = None,
) -> list[str]:
    """Attach the mail's files; return the names of those over the size limit (the raw
    mail still holds them)."""
    skipped: list[str] = []
    for attachment in mail.attachments:
        try:
            add_attachment(
                session,
                ctx.blobs,
                filename=attachment.filename,
                data=attachment.data,
                declared_type=attachment.content_type,
                max_bytes=ctx.settings.attachment_max_bytes,
                call_id=call_id,
                ticket_id=ticket_id,
                message_id=message_id,
            )
        except ValidationFailed:
            skipped.append(attachment.filename)
    return skipped


def _thread_onto_ticket(
    session: Session,
    ctx: IntakeContext,
    mail: ParsedMail,
    match: ThreadMatch,
    key: str,
    raw_sha256: str,
) -> IngestResult:
    ticket = session.get(TicketRow, match.ticket_id, with_for_update=True)
    assert ticket is not None  # find_thread only returns existing tickets
    sender = mail.sender.address.lower() if mail.sender else ""
    message = TicketMessageRow(
        ticket_id=ticket.id,
        direction="in",
        sender=sender,
        subject=mail.subject[:1000],
        body_text=mail.text,
        body_html=mail.html,
        message_id=mail.message_id,
        attach_reason=match.reason[:200],
    )
    session.add(message)
    session.flush()
    _store_attachments(session, ctx, mail, ticket_id=ticket.id, message_id=message.id)
    record(session, ticket, SYSTEM, "mail_threaded", new=sender, note=match.reason)
    ticket.updated_at = utcnow()
    _record_receipt(
        session, key, raw_sha256, "threaded", ticket_id=ticket.id, ticket_message_id=message.id
    )
    return IngestResult(
        outcome="threaded", status="threaded", ticket_id=ticket.id, classification="ham"
    )


def ingest_mail(
    session: Session,
    ctx: IntakeContext,
    raw: bytes,
    *,
    source_info: dict[str, Any] | None = None,
) -> IngestResult:
    """Take one raw mail into the queue, in the caller's transaction (which commits).

    Deduplicated on Message-ID (or the raw hash); unreadable input is quarantined with its
    bytes; a reply is threaded onto its ticket; ham from a known address becomes a ZS ticket
    (`auto_accept_known`); spam over `spam_drop_threshold` is dropped, restorable.
    """
    raw_sha256 = ctx.blobs.put(raw)
    try:
        mail = parse_mail(raw)
    except ParseError as exc:
        return quarantine_raw(session, ctx, raw, f"parse error: {exc}", source_info=source_info)
    return _ingest_parsed(session, ctx, mail, raw_sha256, source="mail", source_info=source_info)


def _ingest_parsed(
    session: Session,
    ctx: IntakeContext,
    mail: ParsedMail,
    raw_sha256: str,
    *,
    source: str,
    source_info: dict[str, Any] | None,
    client_address: str | None = None,
    form_fields: dict[str, Any] | None = None,
    honeypot: bool = False,
) -> IngestResult:
    key = dedupe_key(mail.message_id, raw_sha256)
    return _once(
        session,
        key,
        lambda: _ingest_new(
            session,
            ctx,
            mail,
            raw_sha256,
            key,
            source=source,
            source_info=source_info,
            client_address=client_address,
            form_fields=form_fields,
            honeypot=honeypot,
        ),
    )


def _ingest_new(
    session: Session,
    ctx: IntakeContext,
    mail: ParsedMail,
    raw_sha256: str,
    key: str,
    *,
    source: str,
    source_info: dict[str, Any] | None,
    client_address: str | None,
    form_fields: dict[str, Any] | None,
    honeypot: bool,
) -> IngestResult:
    settings = ctx.settings
    sender = mail.sender.address.lower() if mail.sender else ""
    known = known_sender(session, sender)
    if honeypot:
        verdict = Classification(label="spam", reason="honeypot", score=1.0)
    else:
        verdict = classify_mail(session, ctx, mail, known)
    match = find_thread(session, mail, settings) if verdict.label != "spam" else None
    if verdict.label == "ham" and match is not None and match.ticket_id is not None:
        return _thread_onto_ticket(session, ctx, mail, match, key, raw_sha256)
    hint = (match.ticket_id or match.possible_ticket_id) if match is not None else None
    fields = form_fields or {}
    call = IntakeCallRow(
        source=source,
        status="pending",
        classification=verdict.label,
        reason=verdict.reason
        if not (match and match.reason)
        else f"{verdict.reason}; {match.reason}",
        score=verdict.score,
        sender=sender[:320],
        sender_name=(mail.sender.name if mail.sender else "")[:300],
        recipients=[a.address for a in (*mail.to, *mail.cc)][:50],
        subject=mail.subject[:1000],
        body_text=mail.text,
        body_html=mail.html,
        message_id=key,
        in_reply_to=mail.in_reply_to[:1000] if mail.in_reply_to else None,
        reference_ids=list(mail.references[-20:]),
        raw_sha256=raw_sha256,
        received_at=utcnow(),
        possible_ticket_id=hint,
        client_id=fields.get("client_id", known.client_id if known else None),
        partner_id=fields.get("partner_id", known.partner_id if known else None),
        contact_id=known.contact_id if known else None,
        licence=fields.get("licence"),
        product=fields.get("product") or "",
        client_address=client_address,
        source_info=dict(source_info or {}),
    )
    session.add(call)
    session.flush()
    skipped = _store_attachments(session, ctx, mail, call_id=call.id)
    if skipped:
        call.source_info = {**call.source_info, "attachments_over_limit": skipped}
    _record_receipt(session, key, raw_sha256, "call", call_id=call.id)
    if verdict.label == "spam" and (honeypot or verdict.score > settings.spam_drop_threshold):
        _mark_dropped(call, SYSTEM, "spam", auto=True)
    elif (
        verdict.label == "ham"
        and source == "mail"
        and known is not None
        and settings.auto_accept_known
    ):
        accept_call(session, ctx, SYSTEM, call.id)
    session.flush()
    return IngestResult(
        outcome="call",
        status=call.status,
        call_id=call.id,
        ticket_id=call.ticket_id,
        classification=call.classification,
    )


# Decisions ---------------------------------------------------------------------------------


def get_call_row(session: Session, call_id: int, *, for_update: bool = False) -> IntakeCallRow:
    call = session.get(IntakeCallRow, call_id, with_for_update=for_update or None)
    if call is None:
        raise NotFound("call", call_id)
    return call


def _require_pending(call: IntakeCallRow) -> None:
    if call.status != "pending":
        raise Conflict(f"call {call.id} is already {call.status}", slug="call-not-pending")


def _submission_mode(session: Session, source: str) -> str:
    mode = {"mail": "email", "form": "form", "phone": "phone"}.get(source, "")
    allowed = defs.dictionary_values(session, "submission_mode")
    return mode if not allowed or mode in allowed else ""


def ticket_fields_from_call(
    session: Session, call: IntakeCallRow, data: TicketCreate | None = None
) -> TicketCreate:
    """The ticket an accepted call opens: the agent's fields, blanks filled from the call."""
    title = " ".join(call.subject.split())[:500] or "(bez tematu)"
    if data is None:
        data = TicketCreate(definition="ZS", title=title)
    fills: dict[str, Any] = {}
    if not data.description:
        fills["description"] = call.body_text[:200_000]
    if data.contact_email is None and call.sender:
        fills["contact_email"] = call.sender
    for field in ("client_id", "partner_id", "contact_id", "licence"):
        if getattr(data, field) is None and getattr(call, field) is not None:
            fills[field] = getattr(call, field)
    if not data.product and call.product:
        fills["product"] = call.product
    if not data.submission_mode:
        fills["submission_mode"] = _submission_mode(session, call.source)
    if data.reported_at is None:
        fills["reported_at"] = call.received_at
    return msgspec.structs.replace(data, **fills)


def accept_call(
    session: Session,
    ctx: IntakeContext,
    actor: Actor,
    call_id: int,
    data: TicketCreate | None = None,
) -> TicketRow:
    """Open a ticket from a pending call in this transaction: the mail and its attachments
    move onto the ticket's timeline, the acknowledgement is queued, the spam model learns ham.
    """
    call = get_call_row(session, call_id, for_update=True)
    _require_pending(call)
    ticket = create_ticket(session, actor, ticket_fields_from_call(session, call, data))
    real_message_id = call.message_id if call.source == "mail" and call.message_id else None
    if real_message_id and real_message_id.startswith(("sha256:", "mid-sha256:")):
        real_message_id = None  # a dedupe key, not a Message-ID
    message = TicketMessageRow(
        ticket_id=ticket.id,
        at=call.received_at,
        direction="in",
        sender=call.sender,
        subject=call.subject,
        body_text=call.body_text,
        body_html=call.body_html,
        message_id=real_message_id,
        call_id=call.id,
        attach_reason=f"accepted from intake call #{call.id}",
    )
    session.add(message)
    session.flush()
    session.execute(
        update(AttachmentRow)
        .where(AttachmentRow.call_id == call.id)
        .values(ticket_id=ticket.id, message_id=message.id)
    )
    call.status = "accepted"
    call.ticket_id = ticket.id
    call.decided_by = actor.label if actor.user_id is None else actor.name
    call.decided_at = utcnow()
    record(
        session,
        ticket,
        actor,
        "created_from_call",
        new=call.id,
        note=f"{call.source} from {call.sender or 'unknown sender'}",
    )
    skipped = enqueue_ack(session, ctx.settings, call, ticket)
    record(
        session,
        ticket,
        SYSTEM,
        "acknowledgement",
        note="queued" if skipped is None else f"not sent: {skipped}",
    )
    if call.raw_sha256 and call.source in ("mail", "form"):
        enqueue(session, SPAM_LEARN_JOB, {"call_id": call.id, "is_spam": False})
    session.flush()
    return ticket


def _mark_dropped(call: IntakeCallRow, actor: Actor, reason: str, *, auto: bool) -> None:
    now = utcnow()
    call.status = "dropped"
    call.drop_reason = reason
    call.dropped_at = now
    call.auto_dropped = auto
    call.decided_by = actor.label if actor.user_id is None else actor.name
    call.decided_at = now


def drop_call(session: Session, actor: Actor, call_id: int, reason: str) -> IntakeCallRow:
    """Drop a pending call (`spam`, `not_ours`, `duplicate`); spam teaches the model."""
    if reason not in DROP_REASONS:
        raise ValidationFailed("reason", f"{reason!r} is not one of {', '.join(DROP_REASONS)}")
    call = get_call_row(session, call_id, for_update=True)
    _require_pending(call)
    _mark_dropped(call, actor, reason, auto=False)
    if reason == "spam" and call.raw_sha256 and call.source in ("mail", "form"):
        enqueue(session, SPAM_LEARN_JOB, {"call_id": call.id, "is_spam": True})
    session.flush()
    return call


def restore_call(session: Session, actor: Actor, call_id: int) -> IntakeCallRow:
    """Bring a dropped call back to the queue within RESTORE_DAYS; a spam drop undone is ham."""
    call = get_call_row(session, call_id, for_update=True)
    if call.status != "dropped":
        raise Conflict(f"call {call.id} is {call.status}, not dropped", slug="call-not-dropped")
    if call.dropped_at and utcnow() - call.dropped_at > dt.timedelta(days=RESTORE_DAYS):
        raise Conflict(
            f"call {call.id} was dropped over {RESTORE_DAYS} days ago", slug="restore-expired"
        )
    if call.drop_reason == "spam" and call.raw_sha256 and call.source in ("mail", "form"):
        enqueue(session, SPAM_LEARN_JOB, {"call_id": call.id, "is_spam": False})
    call.status = "pending"
    call.drop_reason = None
    call.dropped_at = None
    call.auto_dropped = False
    call.decided_by = actor.label if actor.user_id is None else actor.name
    call.decided_at = utcnow()
    session.flush()
    return call


def log_phone_call(session: Session, ticket: TicketRow, actor: Actor = SYSTEM) -> IntakeCallRow:
    """A registered ZT phone event, shown in the queue history as an accepted phone call."""
    call = IntakeCallRow(
        source="phone",
        status="accepted",
        classification="ham",
        reason="phone event",
        score=0.0,
        sender=(ticket.contact_email or "").lower(),
        subject=ticket.title[:1000],
        body_text=ticket.description,
        received_at=ticket.reported_at or utcnow(),
        ticket_id=ticket.id,
        client_id=ticket.client_id,
        partner_id=ticket.partner_id,
        contact_id=ticket.contact_id,
        licence=ticket.licence,
        product=ticket.product,
        decided_by=actor.label if actor.user_id is None else actor.name,
        decided_at=utcnow(),
        source_info={"ticket_number": ticket.number},
    )
    session.add(call)
    session.flush()
    return call


# Queries -----------------------------------------------------------------------------------


def _summary_fields(call: IntakeCallRow) -> dict[str, Any]:
    return {f: getattr(call, f) for f in CallSummary.__struct_fields__}


def list_calls(
    session: Session,
    status: str | None = None,
    source: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CallPage:
    """The queue, newest first; dropped calls only while they can still be restored."""
    conditions: list[Any] = [
        (IntakeCallRow.status != "dropped")
        | (IntakeCallRow.dropped_at >= utcnow() - dt.timedelta(days=RESTORE_DAYS))
    ]
    if status:
        conditions.append(IntakeCallRow.status == status)
    if source:
        conditions.append(IntakeCallRow.source == source)
    total = session.scalar(select(func.count()).select_from(IntakeCallRow).where(*conditions))
    rows = session.scalars(
        select(IntakeCallRow)
        .where(*conditions)
        .order_by(IntakeCallRow.received_at.desc(), IntakeCallRow.id.desc())
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    )
    return CallPage(items=[CallSummary(**_summary_fields(r)) for r in rows], total=int(total or 0))


def get_call(session: Session, call_id: int) -> CallDetail:
    call = get_call_row(session, call_id)
    attachments = session.scalars(
        select(AttachmentRow).where(AttachmentRow.call_id == call.id).order_by(AttachmentRow.id)
    )
    detail_fields = {
        f: getattr(call, f) for f in CallDetail.__struct_fields__ if f != "attachments"
    }
    return CallDetail(
        **detail_fields,
        attachments=[
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in attachments
        ],
    )


class QuarantineEntry(msgspec.Struct, kw_only=True):
    id: int
    raw_sha256: str
    size: int
    reason: str
    source: str
    source_info: dict[str, Any]
    received_at: dt.datetime


def list_quarantine(session: Session, limit: int = 50, offset: int = 0) -> list[QuarantineEntry]:
    """What could not be ingested, newest first; the raw bytes are in the blob store."""
    rows = session.scalars(
        select(QuarantineRow)
        .order_by(QuarantineRow.received_at.desc(), QuarantineRow.id.desc())
        .limit(max(1, min(limit, 500)))
        .offset(max(0, offset))
    )
    return [
        QuarantineEntry(**{f: getattr(r, f) for f in QuarantineEntry.__struct_fields__})
        for r in rows
    ]


# Web form ----------------------------------------------------------------------------------


def submit_form(
    session: Session,
    ctx: IntakeContext,
    submission: web_form.FormSubmission,
    *,
    client_address: str | None = None,
) -> FormReceipt:
    """A web form submission becomes a pending call (stored as a mail, classified like one).

    Raises FormFieldInvalid / FormTooLarge / FormRateLimited. A filled honeypot is stored as
    a dropped spam call and answered like any other submission. Form calls are never
    auto-accepted: anyone can type a client's address into a form.
    """
    data = web_form.validate_submission(submission, ctx.form_limits)
    web_form.check_rate(
        session, client_address=client_address, email=data.email, limits=ctx.form_limits
    )
    settings = ctx.settings
    raw, _message_id = web_form.submission_to_mail(
        data, to=settings.mail_from, domain=settings.mail_domain, client_address=client_address
    )
    raw_sha256 = ctx.blobs.put(raw)
    mail = parse_mail(raw)
    fields: dict[str, Any] = {"product": data.product or ""}
    if data.licence:
        licence = session.get(LicenceRow, data.licence)
        if licence is not None:
            fields.update(
                licence=licence.number,
                client_id=licence.client_id,
                partner_id=licence.partner_id,
                product=data.product or licence.product,
            )
        else:
            fields["unverified_licence"] = data.licence
    honeypot = web_form.is_honeypot(data)
    result = _ingest_parsed(
        session,
        ctx,
        mail,
        raw_sha256,
        source="form",
        source_info={"form": {k: v for k, v in fields.items() if k == "unverified_licence"}},
        client_address=client_address,
        form_fields=fields,
        honeypot=honeypot,
    )
    assert result.call_id is not None
    return FormReceipt(result.call_id, "pending" if honeypot else result.status)


# Spam model --------------------------------------------------------------------------------


def store_spam_model(session: Session, model: SpamModel) -> int:
    """Save a model as the current one; return its version."""
    row = session.get(SpamModelRow, _MODEL_NAME, with_for_update=True)
    data = model.to_bytes()
    if row is None:
        row = SpamModelRow(name=_MODEL_NAME, version=1, data=data)
        session.add(row)
    else:
        row.version += 1
        row.data = data
    row.n_ham, row.n_spam = model.n_ham, model.n_spam
    session.flush()
    return row.version


def make_spam_learn_handler(db: Database, ctx: IntakeContext) -> BatchHandler:
    """Batch handler for `intake.spam_learn` jobs: one model update per batch of decisions."""

    def learn(jobs: Sequence[OutboxJob]) -> None:
        mails: list[ParsedMail] = []
        labels: list[bool] = []
        with db.read() as session:
            for job in jobs:
                call = session.get(IntakeCallRow, int(job.payload["call_id"]))
                if call is None or not call.raw_sha256 or not ctx.blobs.exists(call.raw_sha256):
                    continue
                try:
                    mails.append(parse_mail(ctx.blobs.get(call.raw_sha256)))
                except ParseError:
                    continue
                labels.append(bool(job.payload["is_spam"]))
        if not mails:
            return
        with db.transaction() as session:
            row = session.get(SpamModelRow, _MODEL_NAME, with_for_update=True)
            model = SpamModel.from_bytes(row.data) if row is not None else SpamModel()
            model.learn_many(mails, labels)
            store_spam_model(session, model)

    return learn
