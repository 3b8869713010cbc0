"""Writing on a ticket: a reply to the customer (through the outbox), an internal note, a file.

A reply is a person's answer, not automatic mail: it carries the ticket number in the subject
and a signed Message-ID (plus the same token in the text, for servers that rewrite
Message-IDs), so the customer's answer threads back into the ticket. Do-not-contact is checked
here, where the consultant can see the refusal, and once more by the `mail.send` handler.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.attachments import BlobStore, add_attachment
from tickets.core.message_ids import new_message_id
from tickets.core.orm import AttachmentRow, TicketMessageRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.schemas import Actor, EmailAddress, check_addresses
from tickets.core.services import get_ticket, record
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.notifications.service import contact_address, do_not_contact_reason

SEND_MAIL_JOB: Final = "mail.send"
REPLY_MARK: Final = "reply"
MAX_REPLY_ATTACHMENTS: Final = 20


class MailSender(msgspec.Struct, frozen=True):
    """Who replies and how our Message-IDs are signed (from the settings, given in)."""

    mail_from: str
    mail_domain: str
    secret_key: str


class ReplyRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`POST /api/tickets/{id}/reply`."""

    text: Annotated[str, Meta(min_length=1, max_length=100_000)]
    to: EmailAddress | None = None
    """Default: the ticket's contact person's address."""
    attachment_ids: Annotated[list[int], Meta(max_length=MAX_REPLY_ATTACHMENTS)] = msgspec.field(
        default_factory=list
    )
    """Files already on the ticket to send along."""

    def __post_init__(self) -> None:
        check_addresses(self, "to")


class NoteRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`POST /api/tickets/{id}/notes`: seen by the desk only, never mailed."""

    text: Annotated[str, Meta(min_length=1, max_length=100_000)]


class Refused(msgspec.Struct, frozen=True):
    """A reply not sent: to whom, and why (already written to the ticket's history)."""

    address: str
    reason: str


class ReplyBlocked(Conflict):
    """The address may not be written to (do-not-contact, bouncing, complained)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"Nie wysłano odpowiedzi do {address}: {reason}.", slug="do-not-contact")
        self.field = "to"


def _blocked(session: Session, ticket: TicketRow, address: str) -> str | None:
    try:
        from intake.suppression import blocked_reason
    except ImportError:
        return do_not_contact_reason(session, ticket, address)
    return blocked_reason(session, address, ticket)


def _signed_message_id(sender: MailSender, ticket_id: int) -> str:
    """Signed, so that the customer's answer threads into the ticket."""
    return new_message_id(ticket_id, domain=sender.mail_domain, secret=sender.secret_key)


def _last_inbound(session: Session, ticket_id: int) -> str | None:
    return session.scalar(
        select(TicketMessageRow.message_id)
        .where(
            TicketMessageRow.ticket_id == ticket_id,
            TicketMessageRow.direction == "in",
            TicketMessageRow.message_id.is_not(None),
        )
        .order_by(TicketMessageRow.at.desc(), TicketMessageRow.id.desc())
        .limit(1)
    )


def reply_subject(ticket: TicketRow) -> str:
    return f"[{ticket.number}] {ticket.title}"[:900]


def reply_text(ticket: TicketRow, text: str, message_id: str) -> str:
    return (
        f"{text.rstrip()}\n\n--\nOdpowiadając, prosimy zachować numer {ticket.number} "
        f"w temacie wiadomości.\nRef: {message_id}\n"
    )


def reply_to_customer(
    session: Session, sender: MailSender, actor: Actor, ticket_id: int, data: ReplyRequest
) -> TicketMessageRow | Refused:
    """Queue the reply and put it on the timeline; or, when the address may not get mail,
    write why to the history and return that reason (the caller commits, then refuses)."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    address = data.to or contact_address(session, ticket)
    if not address:
        raise ValidationFailed("to", "the ticket has no contact address: give one")
    files = _attachments(session, ticket.id, data.attachment_ids)
    reason = _blocked(session, ticket, address)
    if reason is not None:
        record(
            session,
            ticket,
            actor,
            "reply_blocked",
            new=address,
            note=f"nie wysłano: {reason} — odpowiedź do {address}",
        )
        session.flush()
        return Refused(address, reason)
    message_id = _signed_message_id(sender, ticket.id)
    subject = reply_subject(ticket)
    text = reply_text(ticket, data.text, message_id)
    message = TicketMessageRow(
        ticket_id=ticket.id,
        direction="out",
        sender=sender.mail_from,
        subject=subject,
        body_text=text,
        message_id=message_id,
        attach_reason=REPLY_MARK,
        user_id=actor.user_id,
    )
    session.add(message)
    headers: dict[str, str] = {"X-Sedno-Loop": sender.mail_domain}
    parent = _last_inbound(session, ticket.id)
    if parent:
        bracketed = parent if parent.startswith("<") else f"<{parent}>"
        headers |= {"In-Reply-To": bracketed, "References": bracketed}
    enqueue(
        session,
        SEND_MAIL_JOB,
        {
            "from": sender.mail_from,
            "to": [address],
            "subject": subject,
            "message_id": f"<{message_id}>",
            "headers": headers,
            "text": text,
            "ticket_id": ticket.id,
            "purpose": "reply",
            "attachments": [
                {"filename": f.filename, "content_type": f.content_type, "sha256": f.sha256}
                for f in files
            ],
        },
    )
    names = ", ".join(f.filename for f in files)
    record(
        session,
        ticket,
        actor,
        "reply_sent",
        new=address,
        note=f"załączniki: {names}" if names else "",
    )
    session.flush()
    return message


def _attachments(session: Session, ticket_id: int, ids: list[int]) -> list[AttachmentRow]:
    if not ids:
        return []
    rows = {
        r.id: r
        for r in session.scalars(
            select(AttachmentRow).where(
                AttachmentRow.id.in_(ids), AttachmentRow.ticket_id == ticket_id
            )
        )
    }
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ValidationFailed("attachment_ids", f"not attachments of this ticket: {missing}")
    return [rows[i] for i in dict.fromkeys(ids)]


def add_internal_note(session: Session, actor: Actor, ticket_id: int, text: str) -> None:
    """A note for the desk on the ticket's timeline; no mail ever leaves for it."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    record(session, ticket, actor, "internal_note", note=text.strip())
    session.flush()


def attach_file(
    session: Session,
    blobs: BlobStore,
    actor: Actor,
    ticket_id: int,
    *,
    filename: str,
    data: bytes,
    declared_type: str,
    max_bytes: int,
) -> AttachmentRow:
    """A file uploaded onto the ticket (API and page alike), with a history line."""
    ticket = get_ticket(session, ticket_id)
    row = add_attachment(
        session,
        blobs,
        filename=filename or "attachment",
        data=data,
        declared_type=declared_type,
        max_bytes=max_bytes,
        ticket_id=ticket_id,
        user_id=actor.user_id,
    )
    record(session, ticket, actor, "attachment", new=row.filename)
    return row
