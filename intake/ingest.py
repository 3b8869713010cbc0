"""Mail ingestion: raw bytes → a call, a message threaded onto a ticket, or quarantine.

One incoming message is one transaction: `ingest_mail` writes the dedupe receipt together with
its outcome, so a message delivered twice, or re-read after a crash, gives back the first
result and nothing new. Services flush; the caller (worker, request) commits.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Final

import msgspec
from sqlalchemy import BindParameter, String, bindparam, func, literal, select, union_all
from sqlalchemy.orm import Session

from intake.ack import LOOP_HEADER, enqueue_received_ack
from intake.assignment_replies import answering_assignment, take_assignment_reply
from intake.classify import Classification, ClassifyContext, classify
from intake.context import IntakeContext
from intake.followup import FollowUp, decide_follow_up, reopen_for_reply
from intake.licences import find_licence
from intake.orm import IntakeCallRow, QuarantineRow
from intake.parse import ParsedMail, ParseError, parse_mail
from intake.queue import accept_call, mark_dropped
from intake.receipts import IngestResult, call_result, dedupe_key, once, record_receipt
from intake.suppression import (
    bounced_recipients,
    clear_bounces,
    complaining_recipients,
    record_bounces,
    record_complaints,
)
from intake.threading import STRANGER_FLAG, ThreadMatch, find_thread, report_text
from tickets.core.attachments import add_attachment
from tickets.core.db import utcnow
from tickets.core.orm import ClientRow, ContactRow, PartnerRow, TicketMessageRow, TicketRow
from tickets.core.schemas import SYSTEM
from tickets.core.services import record
from tickets.domain.errors import ValidationFailed

log = logging.getLogger("sedno.intake")


class KnownSender(msgspec.Struct, frozen=True):
    client_id: int | None = None
    partner_id: int | None = None
    contact_id: int | None = None


# Statements built once with bound parameters: SQLAlchemy then reuses their compiled form,
# which costs a fraction of building and compiling them for every mail.
_ADDRESS: BindParameter[str] = bindparam("address", type_=String())
_KNOWN = union_all(
    select(
        literal(0).label("rank"),
        ContactRow.id.label("contact_id"),
        ContactRow.client_id.label("client_id"),
        func.coalesce(ContactRow.partner_id, ClientRow.partner_id).label("partner_id"),
    )
    .outerjoin(ClientRow, ClientRow.id == ContactRow.client_id)
    .where(func.lower(ContactRow.email) == _ADDRESS),
    select(literal(1), literal(None), ClientRow.id, ClientRow.partner_id).where(
        func.lower(ClientRow.email) == _ADDRESS
    ),
    select(literal(2), literal(None), literal(None), PartnerRow.id).where(
        func.lower(PartnerRow.email) == _ADDRESS
    ),
).subquery()
_KNOWN_SENDER: Final = select(_KNOWN).order_by(_KNOWN.c.rank).limit(1)
_SENDER_COUNT: Final = (
    select(func.count())
    .select_from(IntakeCallRow)
    .where(
        IntakeCallRow.sender == bindparam("sender"),
        IntakeCallRow.received_at >= bindparam("since"),
    )
)


def known_sender(session: Session, address: str) -> KnownSender | None:
    """The directory entry an address belongs to: a contact, else a client, else a partner.

    Asked for every mail, never cached: a contact added a second ago counts at once.
    """
    if not address:
        return None
    row = session.connection().execute(_KNOWN_SENDER, {"address": address}).first()
    if row is None:
        return None
    return KnownSender(
        client_id=row.client_id, partner_id=row.partner_id, contact_id=row.contact_id
    )


def sender_count_last_hour(session: Session, address: str) -> int:
    if not address:
        return 0
    since = utcnow() - dt.timedelta(hours=1)
    params = {"sender": address, "since": since}
    count = session.connection().execute(_SENDER_COUNT, params).scalar()
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
        spamd=ctx.spamd,
    )
    return classify(mail, context)


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
        record_receipt(session, key, raw_sha256, "quarantined", quarantine_id=row.id)
        log.warning("quarantined %s (%d bytes): %s", raw_sha256[:12], len(raw), reason)
        return IngestResult(outcome="quarantined", status="quarantined", quarantine_id=row.id)

    return once(session, key, work)


def store_attachments(
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
    ticket: TicketRow,
    match: ThreadMatch,
    verdict: Classification,
    key: str,
    raw_sha256: str,
    *,
    reopen_reason: str | None,
) -> IngestResult:
    """Attach the mail to the ticket: its spam score shown, automatic mail and strangers
    marked; only a person's reply may reopen (`reopen_reason`)."""
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
        spam_score=None if verdict.automatic else verdict.score,
        automatic=verdict.automatic,
        sender_flag=STRANGER_FLAG if match.stranger else "",
        raw_sha256=raw_sha256,
    )
    session.add(message)
    session.flush()
    skipped = store_attachments(session, ctx, mail, ticket_id=ticket.id, message_id=message.id)
    note = match.reason
    if verdict.automatic:
        note = f"automatic mail ({verdict.label}: {verdict.reason}); {note}"
    elif verdict.label == "spam":
        note = f"spam score {verdict.score:.2f}; {note}"
    if skipped:
        note += f"; attachments over the size limit left out: {', '.join(skipped)}"
    record(session, ticket, SYSTEM, "mail_threaded", new=sender, note=note[:4000])
    if reopen_reason is not None:
        reopen_for_reply(session, ticket, sender, reopen_reason)
    if not verdict.automatic:
        ticket.updated_at = utcnow()
    record_receipt(
        session, key, raw_sha256, "threaded", ticket_id=ticket.id, ticket_message_id=message.id
    )
    return IngestResult(
        outcome="threaded",
        status="threaded" if reopen_reason is None else "reopened",
        ticket_id=ticket.id,
        classification=verdict.label,
    )


def _record_reports(
    session: Session, ctx: IntakeContext, mail: ParsedMail, verdict: Classification
) -> dict[str, list[str]]:
    """What a bounce or complaint about our own mail says about the addresses it names."""
    domain = ctx.settings.mail_domain.lower()
    about_ours = f"@{domain}" in f"{report_text(mail)}\n{mail.text[:20_000]}".lower()
    if not about_ours:
        return {}
    if verdict.label == "bounce":
        reason = f"{verdict.reason}: {mail.subject}"[:1000]
        bounced = record_bounces(session, bounced_recipients(mail, domain), reason)
        return {"bounced_addresses": bounced} if bounced else {}
    if verdict.label == "complaint":
        complained = record_complaints(session, complaining_recipients(mail))
        return {"complaint_addresses": complained} if complained else {}
    return {}


def _follow_up(
    session: Session,
    ctx: IntakeContext,
    ticket: TicketRow,
    match: ThreadMatch,
    verdict: Classification,
) -> FollowUp:
    """Automatic mail, spam and strangers are only attached; a person's reply follows the
    reopen rules."""
    if verdict.automatic or verdict.label == "spam" or match.stranger:
        return FollowUp("attach")
    return decide_follow_up(session, ticket, ctx.intake, utcnow())


def ingest_mail(
    session: Session,
    ctx: IntakeContext,
    raw: bytes,
    *,
    source_info: dict[str, Any] | None = None,
) -> IngestResult:
    """Take one raw mail into the queue, in the caller's transaction (which commits).

    Deduplicated on Message-ID (or the raw hash); unreadable input is quarantined with its
    bytes; a reply is threaded onto its ticket (reopening it when completed lately, see
    `intake.followup`); ham from a known address becomes a ZS ticket (`auto_accept_known`);
    spam over `spam_drop_threshold` is dropped, restorable. A mail over
    `mail_max_bytes` is kept in quarantine, raw; attachments over the attachment limit are
    left out of the call and listed (the raw mail keeps them).
    """
    raw_sha256 = ctx.blobs.put(raw)
    if len(raw) > ctx.intake.mail_max_bytes:
        reason = f"mail of {len(raw)} bytes over the limit of {ctx.intake.mail_max_bytes}"
        return quarantine_raw(session, ctx, raw, reason, source_info=source_info)
    try:
        mail = parse_mail(raw)
    except ParseError as exc:
        return quarantine_raw(session, ctx, raw, f"parse error: {exc}", source_info=source_info)
    return ingest_parsed(session, ctx, mail, raw_sha256, source="mail", source_info=source_info)


def ingest_parsed(
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
    """A parsed mail (its raw bytes already stored) into the queue, exactly once."""
    key = dedupe_key(mail.message_id, raw_sha256)
    return once(
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
    info = dict(source_info or {})
    if verdict.spamassassin is not None:
        info["spamassassin_score"] = verdict.spamassassin.score
        info["spamassassin_rules"] = list(verdict.spamassassin.rules)
    if verdict.automatic:
        info.update(_record_reports(session, ctx, mail, verdict))
    elif verdict.label in ("ham", "bulk") and sender:
        clear_bounces(session, sender)
    # The assignee answering an assignment mail is staff, not a participant: the reply is
    # theirs to record, never a call. A machine (out-of-office) answers nothing.
    assignment = answering_assignment(session, mail, verdict)
    if assignment is not None:
        return take_assignment_reply(
            session, mail, assignment, key, raw_sha256,
            lambda ticket_id, message_id: store_attachments(
                session, ctx, mail, ticket_id=ticket_id, message_id=message_id
            ),
        )  # fmt: skip
    # Threading comes before the spam verdict: a reply naming our mail joins its ticket
    # whatever it scored (the score is shown on the message). Loops never thread.
    match = (
        None
        if verdict.label == "loop"
        else find_thread(session, mail, settings, automatic=verdict.automatic)
    )
    if match is not None and match.ticket_id is not None:
        ticket = session.get(TicketRow, match.ticket_id, with_for_update=True)
        assert ticket is not None  # find_thread only returns existing tickets
        follow = _follow_up(session, ctx, ticket, match, verdict)
        if follow.action != "new_call":
            reopen_reason = follow.reason if follow.action == "reopen" else None
            return _thread_onto_ticket(
                session,
                ctx,
                mail,
                ticket,
                match,
                verdict,
                key,
                raw_sha256,
                reopen_reason=reopen_reason,
            )
        # Too late to reopen: a new call, the earlier ticket named as its hint.
        match = ThreadMatch(None, follow.reason, possible_ticket_id=ticket.id)
        info["follow_up_of"] = ticket.number
    hint = (match.ticket_id or match.possible_ticket_id) if match is not None else None
    fields = form_fields or {}
    licence = None if verdict.automatic or verdict.label == "spam" else find_licence(session, mail)
    client_id = fields.get("client_id", known.client_id if known else None)
    partner_id = fields.get("partner_id", known.partner_id if known else None)
    if licence is not None:
        info["licence_found"] = licence.number
        if client_id is None:
            client_id, partner_id = licence.client_id, partner_id or licence.partner_id
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
        client_id=client_id,
        partner_id=partner_id,
        contact_id=known.contact_id if known else None,
        licence=fields.get("licence") or (licence.number if licence else None),
        product=fields.get("product") or "",
        client_address=client_address,
        source_info=info,
    )
    session.add(call)
    session.flush()
    skipped = store_attachments(session, ctx, mail, call_id=call.id)
    if skipped:
        call.source_info = {**call.source_info, "attachments_over_limit": skipped}
    record_receipt(session, key, raw_sha256, "call", call_id=call.id)
    if verdict.label == "spam" and (honeypot or verdict.score > settings.spam_drop_threshold):
        mark_dropped(call, SYSTEM, "spam", auto=True)
    elif (
        verdict.label == "ham"
        and source == "mail"
        and known is not None
        and settings.auto_accept_known
    ):
        accept_call(session, ctx, SYSTEM, call.id)
    elif verdict.label == "ham":
        why = enqueue_received_ack(session, settings, ctx.intake, ctx.templates, call)
        call.source_info = {**call.source_info, "ack_on_arrival": why or "queued"}
    return call_result(call)
