"""Queue actions and queries: accept, drop, restore; the queue, one call, quarantine.

Services flush; the caller (request, worker) commits.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from intake.ack import enqueue_ack, received_acks_to_timeline
from intake.context import IntakeContext
from intake.learning import SPAM_LEARN_JOB
from intake.orm import IntakeCallRow, QuarantineRow
from intake.suppression import blocked_reason
from tickets.core import definitions as defs
from tickets.core.db import utcnow
from tickets.core.orm import AttachmentRow, TicketMessageRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.schemas import SYSTEM, Actor, TicketCreate, is_one_address
from tickets.core.services import create_ticket, record
from tickets.domain.errors import Conflict, NotFound, ValidationFailed

DROP_REASONS: Final = ("spam", "not_ours", "duplicate")
RESTORE_DAYS: Final = 30
"""A dropped call stays visible and restorable this long."""


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
    attachments_left_out: list[str] = msgspec.field(default_factory=list)
    """Attachments over the size limit: not stored with the call, still in the raw mail."""
    sender_status: str | None = None
    """Why automatic mail may not go to the sender (do-not-contact, bouncing, complained)."""


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
    if data.contact_email is None and call.sender and is_one_address(call.sender):
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
    received_acks_to_timeline(session, call, ticket)
    skipped = enqueue_ack(session, ctx.settings, call, ticket, templates=ctx.templates)
    record(
        session,
        ticket,
        SYSTEM,
        "acknowledgement",
        note="queued" if skipped is None else f"nie wysłano: {skipped}",
    )
    if call.raw_sha256 and call.source in ("mail", "form"):
        enqueue(session, SPAM_LEARN_JOB, {"call_id": call.id, "is_spam": False})
    session.flush()
    return ticket


def mark_dropped(call: IntakeCallRow, actor: Actor, reason: str, *, auto: bool) -> None:
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
    mark_dropped(call, actor, reason, auto=False)
    if reason == "spam" and call.raw_sha256 and call.source in ("mail", "form"):
        enqueue(session, SPAM_LEARN_JOB, {"call_id": call.id, "is_spam": True})
    session.flush()
    return call


def drop_pending_calls(session: Session, actor: Actor, call_ids: list[int], reason: str) -> int:
    """Drop many calls at once (spam sweeps): those no longer pending are skipped, so one
    decided meanwhile by a colleague does not undo the sweep; the number dropped."""
    dropped = 0
    for call_id in call_ids:
        if get_call_row(session, call_id).status == "pending":
            drop_call(session, actor, call_id, reason)
            dropped += 1
    return dropped


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


def move_message_out(
    session: Session, actor: Actor, ticket_id: int, message_id: int
) -> IntakeCallRow:
    """Take a mail that intake threaded onto a ticket off it, back into the queue as a
    pending call (a consultant's "this is not about this ticket", or spam after all)."""
    message = session.get(TicketMessageRow, message_id, with_for_update=True)
    if message is None or message.ticket_id != ticket_id:
        raise NotFound("message", message_id)
    if message.direction != "in" or message.raw_sha256 is None:
        raise Conflict(
            f"message {message_id} did not come in through intake", slug="message-not-intake"
        )
    ticket = session.get(TicketRow, ticket_id)
    assert ticket is not None  # the message's foreign key
    score = message.spam_score or 0.0
    call = IntakeCallRow(
        source="mail",
        status="pending",
        classification="auto_reply" if message.automatic else "ham",
        reason=f"moved out of {ticket.number} by {actor.name or actor.label}",
        score=score,
        sender=message.sender,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        message_id=None,
        raw_sha256=message.raw_sha256,
        received_at=message.at,
        possible_ticket_id=ticket.id,
        source_info={"moved_out_of": ticket.number, "message_id": message.message_id},
    )
    session.add(call)
    session.flush()
    session.execute(
        update(AttachmentRow)
        .where(AttachmentRow.message_id == message.id)
        .values(call_id=call.id, ticket_id=None, message_id=None)
    )
    record(
        session,
        ticket,
        actor,
        "mail_moved_out",
        new=call.id,
        note=f"mail from {message.sender or 'unknown sender'} moved to intake call #{call.id}",
    )
    session.delete(message)
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
    extra = ("attachments", "attachments_left_out", "sender_status")
    detail_fields = {f: getattr(call, f) for f in CallDetail.__struct_fields__ if f not in extra}
    return CallDetail(
        **detail_fields,
        attachments_left_out=list((call.source_info or {}).get("attachments_over_limit") or []),
        sender_status=blocked_reason(session, call.sender) if call.sender else None,
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
