"""Our signed Message-IDs and the acknowledgement a sender gets when a call becomes a ticket.

A Message-ID of ours reads `sedno.{ticket_id}.{random}.{hmac}@{mail_domain}`: a reply quoting
it in In-Reply-To/References (or in the body, for servers that rewrite Message-IDs) is joined
to the ticket, and nobody can forge one for a ticket without the secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.settings import Settings
from intake.orm import AckLogRow, IntakeCallRow
from tickets.adapters.db import utcnow
from tickets.adapters.orm import TicketMessageRow, TicketRow
from tickets.adapters.outbox import enqueue

SEND_MAIL_JOB: Final = "mail.send"
LOOP_HEADER: Final = "X-Sedno-Loop"
ACK_VALID_FOR: Final = dt.timedelta(days=2)
"""An acknowledgement not delivered within this time is no longer worth sending."""
_SIGNATURE_HEX: Final = 20
_TOKEN: Final = re.compile(
    rf"sedno\.(\d{{1,18}})\.([A-Za-z0-9]{{6,40}})\.([0-9a-f]{{{_SIGNATURE_HEX}}})@([\w.-]+)"
)
# Senders that must never get an automatic answer (RFC 3834 section 2).
_NO_REPLY: Final = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)([+-].*)?@",
    re.IGNORECASE,
)


def _signature(ticket_id: int, nonce: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{ticket_id}.{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:_SIGNATURE_HEX]


def new_message_id(ticket_id: int, *, domain: str, secret: str) -> str:
    """A fresh signed Message-ID for a mail about `ticket_id`, without angle brackets."""
    nonce = secrets.token_hex(6)
    return f"sedno.{ticket_id}.{nonce}.{_signature(ticket_id, nonce, secret)}@{domain}"


def ticket_id_from_token(text: str, *, domain: str, secret: str) -> int | None:
    """The ticket named by the first validly signed token of ours in `text`, else None."""
    for match in _TOKEN.finditer(text or ""):
        ticket_id, nonce, signature, token_domain = match.groups()
        if token_domain.lower() != domain.lower():
            continue
        expected = _signature(int(ticket_id), nonce, secret)
        if hmac.compare_digest(expected, signature):
            return int(ticket_id)
    return None


def is_own_message_id(message_id: str | None, domain: str) -> bool:
    """Whether a Message-ID carries our domain (mail we sent coming back)."""
    return bool(message_id) and str(message_id).lower().rstrip(">").endswith("@" + domain.lower())


def may_auto_reply(address: str, settings: Settings) -> bool:
    """Whether an automatic mail may go to this address at all."""
    if not address or "@" not in address or _NO_REPLY.match(address):
        return False
    return not address.lower().endswith("@" + settings.mail_domain.lower())


def acks_sent_since(session: Session, recipient: str, since: dt.datetime) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(AckLogRow)
        .where(AckLogRow.recipient == recipient.lower(), AckLogRow.at >= since)
    )
    return int(count or 0)


def _ack_text(ticket: TicketRow, subject: str, token: str, settings: Settings) -> str:
    return (
        "Dzień dobry,\n\n"
        f"dziękujemy za wiadomość. Zarejestrowaliśmy zgłoszenie o numerze {ticket.number}"
        f" (temat: {subject}).\n"
        f"Odpowiadając, prosimy zachować numer {ticket.number} w temacie wiadomości.\n\n"
        "Ta wiadomość została wysłana automatycznie.\n\n"
        "Pozdrawiamy\nDział wsparcia\n\n"
        f"[ref: {token}]\n"
    )


def build_ack(
    ticket: TicketRow, call: IntakeCallRow, settings: Settings, *, message_id: str
) -> dict[str, Any]:
    """The full acknowledgement as an outbox `mail.send` payload."""
    subject = call.subject.strip() or "(bez tematu)"
    references = [*call.reference_ids]
    original = call.message_id if call.source == "mail" and call.message_id else None
    if original and original.startswith("sha256:"):
        original = None  # a dedupe key, not a real Message-ID
    headers = {"Auto-Submitted": "auto-replied", LOOP_HEADER: settings.mail_domain}
    if original:
        headers["In-Reply-To"] = f"<{original}>"
        references.append(original)
    if references:
        headers["References"] = " ".join(f"<{r}>" for r in references[-10:])
    return {
        "from": settings.mail_from,
        "to": [call.sender],
        "subject": f"[{ticket.number}] {subject}",
        "message_id": f"<{message_id}>",
        "headers": headers,
        "text": _ack_text(ticket, subject, message_id, settings),
        "ticket_id": ticket.id,
        "call_id": call.id,
        "purpose": "ack",
        "expires_at": (utcnow() + ACK_VALID_FOR).isoformat(),
    }


def enqueue_ack(
    session: Session, settings: Settings, call: IntakeCallRow, ticket: TicketRow
) -> str | None:
    """Queue the acknowledgement when it is due; return why not, or None when queued.

    No answer to automatic mail (auto-replies, bounces, loops, spam), to addresses that must
    not get one, or beyond `ack_max_per_sender_per_day` acks to one sender in 24 hours.
    """
    if call.source == "phone":
        return "phone call"
    if call.classification != "ham":
        return f"classified {call.classification}"
    recipient = call.sender.lower()
    if not may_auto_reply(recipient, settings):
        return "no automatic reply to this address"
    since = utcnow() - dt.timedelta(days=1)
    if acks_sent_since(session, recipient, since) >= settings.ack_max_per_sender_per_day:
        return "acknowledgement limit for this sender reached"
    message_id = new_message_id(ticket.id, domain=settings.mail_domain, secret=settings.secret_key)
    payload = build_ack(ticket, call, settings, message_id=message_id)
    session.add(
        AckLogRow(recipient=recipient, call_id=call.id, ticket_id=ticket.id, message_id=message_id)
    )
    session.add(
        TicketMessageRow(
            ticket_id=ticket.id,
            direction="out",
            sender=settings.mail_from,
            subject=payload["subject"],
            body_text=payload["text"],
            message_id=message_id,
            call_id=call.id,
            attach_reason="acknowledgement",
        )
    )
    enqueue(session, SEND_MAIL_JOB, payload)
    session.flush()
    return None
