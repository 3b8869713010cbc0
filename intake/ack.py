"""Our signed Message-IDs and the acknowledgement a sender gets when a call becomes a ticket.

A Message-ID of ours reads `sedno.{ticket_id}.{random}.{hmac}@{mail_domain}`: a reply quoting
it in In-Reply-To/References (or in the body, for servers that rewrite Message-IDs) is joined
to the ticket, and nobody can forge one for a ticket without the secret key.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Final, Literal

import jinja2
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.orm import AckLogRow, IntakeCallRow
from intake.settings import IntakeSettings
from intake.suppression import blocked_reason
from tickets.core.db import utcnow
from tickets.core.message_ids import SignedIds, new_message_id
from tickets.core.orm import TicketMessageRow, TicketRow
from tickets.core.outbox import enqueue
from tickets.core.settings import Settings

SEND_MAIL_JOB: Final = "mail.send"
LOOP_HEADER: Final = "X-Sedno-Loop"
ACK_VALID_FOR: Final = dt.timedelta(days=2)
"""An acknowledgement not delivered within this time is no longer worth sending."""
CALL_IDS: Final = SignedIds("sedno-call", salt="call.")
"""Tokens of calls that have no ticket yet (their acknowledgement's Message-ID)."""
_TEMPLATES: Final = Path(__file__).resolve().parent / "templates" / "mail"
_POLISH_LETTERS: Final = re.compile(r"[ąćęłńóśźż]")
_POLISH_WORDS: Final = re.compile(
    r"\b(dzien dobry|witam|pozdrawiam|prosze|prosimy|dziekuje|jest|nie|sie|mam|faktur\w*)\b"
)
_ENGLISH_WORDS: Final = re.compile(
    r"\b(the|and|please|hello|dear|regards|thank|thanks|would|could|is|are|with|our)\b"
)
Language = Literal["pl", "en"]
# Senders that must never get an automatic answer (RFC 3834 section 2).
_NO_REPLY: Final = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)([+-].*)?@",
    re.IGNORECASE,
)


def may_auto_reply(address: str, settings: Settings) -> bool:
    """Whether an automatic mail may go to this address at all."""
    if not address or "@" not in address or _NO_REPLY.match(address):
        return False
    return not address.lower().endswith("@" + settings.mail_domain.lower())


def acks_sent_since(
    session: Session, recipient: str, since: dt.datetime, purpose: str = "accepted"
) -> int:
    """Acknowledgements of one kind (`received`, `accepted`) queued to an address since."""
    count = session.scalar(
        select(func.count())
        .select_from(AckLogRow)
        .where(
            AckLogRow.recipient == recipient.lower(),
            AckLogRow.at >= since,
            AckLogRow.purpose == purpose,
        )
    )
    return int(count or 0)


def new_call_message_id(call_id: int, *, domain: str, secret: str) -> str:
    """A signed Message-ID for the acknowledgement of a call that has no ticket yet."""
    return CALL_IDS.new(call_id, domain=domain, secret=secret)


def call_id_from_token(text: str, *, domain: str, secret: str) -> int | None:
    """The call named by the first validly signed call token of ours in `text`, else None."""
    return CALL_IDS.find(text, domain=domain, secret=secret)


def call_reference(call: IntakeCallRow) -> str:
    """What the sender is told their call is registered as before it has a ticket number."""
    return f"Z-{call.id}"


def sender_language(call: IntakeCallRow) -> Language:
    """Polish unless the sender plainly wrote in English (a Polish desk answers in Polish)."""
    sample = f"{call.subject}\n{call.body_text[:3000]}".lower()
    if _POLISH_LETTERS.search(sample) or _POLISH_WORDS.search(sample):
        return "pl"
    return "en" if len(_ENGLISH_WORDS.findall(sample)) >= 2 else "pl"


class AckTemplates:
    """The acknowledgement templates: `received` and `accepted`, each `.pl` and `.en`.

    Files in `override_dir` (`SEDNO_INTAKE_TEMPLATE_DIR`) win over the shipped ones in
    `intake/templates/mail/`; the first line of a template is the subject, then a blank line,
    then the text. The reference token that lets a reply thread is added by code, never by
    the template, so an edited template cannot break threading.
    """

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            loaders.append(jinja2.FileSystemLoader(override_dir))
        loaders.append(jinja2.FileSystemLoader(_TEMPLATES))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,  # plain-text mail
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )

    def render(self, kind: str, language: Language, **values: str) -> tuple[str, str]:
        """(subject, text) of one acknowledgement."""
        text = self._env.get_template(f"{kind}.{language}.txt").render(**values)
        subject, _, body = text.partition("\n")
        return " ".join(subject.split()), body.lstrip("\n")


def _original_message_id(call: IntakeCallRow) -> str | None:
    original = call.message_id if call.source == "mail" and call.message_id else None
    if original and original.startswith(("sha256:", "mid-sha256:")):
        return None  # a dedupe key, not a real Message-ID
    return original


def build_ack(
    call: IntakeCallRow,
    settings: Settings,
    *,
    subject: str,
    text: str,
    message_id: str,
    purpose: str,
    ticket_id: int | None,
) -> dict[str, Any]:
    """The full acknowledgement as an outbox `mail.send` payload."""
    references = [*call.reference_ids]
    original = _original_message_id(call)
    headers = {
        "Auto-Submitted": "auto-replied",
        LOOP_HEADER: settings.mail_domain,
        # Ask Exchange not to answer our automatic mail with its own.
        "X-Auto-Response-Suppress": "All",
    }
    if original:
        headers["In-Reply-To"] = f"<{original}>"
        references.append(original)
    if references:
        headers["References"] = " ".join(f"<{r}>" for r in references[-10:])
    return {
        "from": settings.mail_from,
        "to": [call.sender],
        "subject": subject,
        "message_id": f"<{message_id}>",
        "headers": headers,
        "text": f"{text.rstrip()}\n\n[ref: {message_id}]\n",
        "ticket_id": ticket_id,
        "call_id": call.id,
        "purpose": purpose,
        "expires_at": (utcnow() + ACK_VALID_FOR).isoformat(),
    }


def _why_not(session: Session, call: IntakeCallRow, ticket: TicketRow | None) -> str | None:
    """Reasons shared by both acknowledgements: automatic mail, forbidden addresses."""
    if call.source == "phone":
        return "phone call"
    recipient = call.sender.lower()
    if call.classification == "bulk" and call.contact_id is None and call.client_id is None:
        return "list or newsletter mail from an unknown sender"
    if call.classification not in ("ham", "bulk"):
        return f"classified {call.classification}"
    blocked = blocked_reason(session, recipient, ticket)
    if blocked is not None:
        return blocked
    return None


def _queue(
    session: Session,
    call: IntakeCallRow,
    payload: dict[str, Any],
    *,
    purpose: str,
    ticket_id: int | None,
    message_id: str,
) -> None:
    session.add(
        AckLogRow(
            recipient=call.sender.lower(),
            call_id=call.id,
            ticket_id=ticket_id,
            message_id=message_id,
            purpose=purpose,
        )
    )
    enqueue(session, SEND_MAIL_JOB, payload)
    session.flush()


def enqueue_received_ack(
    session: Session,
    settings: Settings,
    intake: IntakeSettings,
    templates: AckTemplates,
    call: IntakeCallRow,
) -> str | None:
    """Tell the sender at once that the call arrived, with its reference; return why not, or
    None when queued.

    Only for confident ham (the spam score below `intake.ack_max_spam_score`: a forged
    sender of a doubtful mail is not mailed back), never for list mail (RFC 3834), and at
    most `intake.ack_per_sender_per_hour` to one address.
    """
    if not intake.ack_on_arrival:
        return "acknowledgement on arrival is off"
    if call.classification == "bulk":
        return "list or newsletter mail"
    why = _why_not(session, call, None)
    if why is not None:
        return why
    if call.score >= intake.ack_max_spam_score:
        return f"spam score {call.score:.2f} too high for an automatic answer"
    recipient = call.sender.lower()
    if not may_auto_reply(recipient, settings):
        return "no automatic reply to this address"
    since = utcnow() - dt.timedelta(hours=1)
    if acks_sent_since(session, recipient, since, "received") >= intake.ack_per_sender_per_hour:
        return "this sender had an acknowledgement within the hour"
    message_id = new_call_message_id(
        call.id, domain=settings.mail_domain, secret=settings.secret_key
    )
    subject = call.subject.strip() or "(bez tematu)"
    title, text = templates.render(
        "received", sender_language(call), reference=call_reference(call), subject=subject
    )
    payload = build_ack(
        call,
        settings,
        subject=title,
        text=text,
        message_id=message_id,
        purpose="received",
        ticket_id=None,
    )
    _queue(session, call, payload, purpose="received", ticket_id=None, message_id=message_id)
    return None


def enqueue_ack(
    session: Session,
    settings: Settings,
    call: IntakeCallRow,
    ticket: TicketRow,
    *,
    intake: IntakeSettings | None = None,
    templates: AckTemplates | None = None,
) -> str | None:
    """Queue the acknowledgement with the ticket number; return why not, or None when queued.

    No answer to automatic mail (auto-replies, bounces, loops, spam), to list mail from an
    unknown sender, to addresses that must not get one (do-not-contact, bouncing,
    complained), or beyond `ack_max_per_sender_per_day` acks to one sender in 24 hours.
    """
    why = _why_not(session, call, ticket)
    if why is not None:
        return why
    recipient = call.sender.lower()
    if not may_auto_reply(recipient, settings):
        return "no automatic reply to this address"
    since = utcnow() - dt.timedelta(days=1)
    if acks_sent_since(session, recipient, since) >= settings.ack_max_per_sender_per_day:
        return "acknowledgement limit for this sender reached"
    message_id = new_message_id(ticket.id, domain=settings.mail_domain, secret=settings.secret_key)
    subject = call.subject.strip() or "(bez tematu)"
    title, text = (templates or AckTemplates()).render(
        "accepted", sender_language(call), number=ticket.number, subject=subject
    )
    payload = build_ack(
        call,
        settings,
        subject=title,
        text=text,
        message_id=message_id,
        purpose="ack",
        ticket_id=ticket.id,
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
    _queue(session, call, payload, purpose="accepted", ticket_id=ticket.id, message_id=message_id)
    return None


def received_acks_to_timeline(session: Session, call: IntakeCallRow, ticket: TicketRow) -> None:
    """The acknowledgements a call got before it had a ticket join the ticket's timeline, so a
    reply to one of them threads onto the ticket."""
    rows = session.scalars(
        select(AckLogRow).where(AckLogRow.call_id == call.id, AckLogRow.purpose == "received")
    )
    for row in rows:
        row.ticket_id = ticket.id
        session.add(
            TicketMessageRow(
                ticket_id=ticket.id,
                at=row.at,
                direction="out",
                sender="",
                subject="",
                body_text="",
                message_id=row.message_id,
                call_id=call.id,
                attach_reason="acknowledgement on arrival",
            )
        )
