"""Threading: does an incoming mail continue a ticket, and why?

In order of trust: our signed Message-ID in In-Reply-To/References; a Message-ID already on a
ticket's timeline; our signed token repeated in the body (servers that rewrite Message-IDs);
the ticket number in the subject, but only from a participant of that ticket. A number from
anyone else is a hint (`possible_ticket_id`), never an attachment: guessing `[ZS/2026/17]`
must not let a stranger write into someone's ticket. A stranger who quotes a Message-ID of
the ticket (a colleague forwarding, someone added in Cc) is attached, flagged `stranger`.

Automatic mail (bounces, complaints, read receipts) names our mail in its report parts
rather than in its headers: those parts are searched too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from intake.ack import call_id_from_token
from intake.orm import IntakeCallRow
from intake.parse import ParsedMail
from tickets.core.message_ids import ticket_id_from_token
from tickets.core.orm import ContactRow, TicketMessageRow, TicketRow
from tickets.core.settings import Settings
from tickets.domain.numbering import number_in_subject


class ThreadMatch(msgspec.Struct, frozen=True):
    """Where a mail belongs: `ticket_id` to attach to, or only a `possible_ticket_id` hint.

    `stranger`: the sender is not a participant of the ticket (it threaded by a quoted id).
    """

    ticket_id: int | None
    reason: str
    possible_ticket_id: int | None = None
    stranger: bool = False


STRANGER_FLAG: Final = "nadawca spoza zgłoszenia"
_HEADER_ID: Final = re.compile(
    r"^(?:original-message-id|message-id|in-reply-to|references)\s*:(.*(?:\r?\n[ \t].*)*)",
    re.I | re.M,
)
_ANGLE_ID: Final = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


NO_MATCH = ThreadMatch(None, "")


def report_text(mail: ParsedMail) -> str:
    """The enclosed messages and report parts of a mail (bounces quote our mail there)."""
    return "\n".join(
        a.data[:50_000].decode("utf-8", "replace")
        for a in mail.attachments
        if a.content_type.startswith("message/") or a.content_type == "text/rfc822-headers"
    )


def _referenced_ids(mail: ParsedMail, report: str = "") -> list[str]:
    ids = [mail.in_reply_to] if mail.in_reply_to else []
    # The nearest ancestor is last in References.
    ids.extend(reversed(mail.references))
    for header in _HEADER_ID.finditer(report):
        ids.extend(_ANGLE_ID.findall(header.group(1)))
    return list(dict.fromkeys(i for i in ids if i))


def _by_signed_id(ids: Iterable[str], session: Session, settings: Settings) -> int | None:
    for message_id in ids:
        ticket_id = ticket_id_from_token(
            message_id, domain=settings.mail_domain, secret=settings.secret_key
        )
        if ticket_id is not None and session.get(TicketRow, ticket_id) is not None:
            return ticket_id
    return None


# Built once (an expanding parameter takes the list): most mail carries references.
_TICKET_OF_MESSAGE_IDS: Final = (
    select(TicketMessageRow.ticket_id)
    .where(TicketMessageRow.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(TicketMessageRow.id.desc())
    .limit(1)
)


def _by_known_id(ids: list[str], session: Session) -> int | None:
    if not ids:
        return None
    found = session.connection().execute(_TICKET_OF_MESSAGE_IDS, {"ids": ids[:50]}).scalar()
    return int(found) if found is not None else None


def participants(session: Session, ticket: TicketRow) -> set[str]:
    """Lower-cased addresses that may write into a ticket by quoting its number."""
    found: set[str] = set()
    if ticket.contact_email:
        found.add(ticket.contact_email.lower())
    if ticket.contact_id is not None:
        contact = session.get(ContactRow, ticket.contact_id)
        if contact is not None and contact.email:
            found.add(contact.email.lower())
    senders = session.scalars(
        select(func.lower(TicketMessageRow.sender)).where(
            TicketMessageRow.ticket_id == ticket.id, TicketMessageRow.direction == "in"
        )
    )
    found.update(s for s in senders if s)
    callers = session.scalars(
        select(func.lower(IntakeCallRow.sender)).where(IntakeCallRow.ticket_id == ticket.id)
    )
    found.update(s for s in callers if s)
    return found


def _checked(
    session: Session, mail: ParsedMail, ticket_id: int, reason: str, automatic: bool
) -> ThreadMatch:
    """A match by a quoted id: flagged when a person outside the ticket sent it."""
    if automatic:
        return ThreadMatch(ticket_id, reason)
    ticket = session.get(TicketRow, ticket_id)
    sender = mail.sender.address.lower() if mail.sender else ""
    if ticket is not None and sender and sender in participants(session, ticket):
        return ThreadMatch(ticket_id, reason)
    return ThreadMatch(ticket_id, f"{reason}; {STRANGER_FLAG}", stranger=True)


def _by_call_token(
    session: Session, text: str, settings: Settings
) -> tuple[int | None, int | None]:
    """(ticket, call) of a reply to an acknowledgement sent on arrival."""
    call_id = call_id_from_token(text, domain=settings.mail_domain, secret=settings.secret_key)
    if call_id is None:
        return None, None
    call = session.get(IntakeCallRow, call_id)
    if call is None:
        return None, None
    return call.ticket_id, call.id


def find_thread(
    session: Session, mail: ParsedMail, settings: Settings, *, automatic: bool = False
) -> ThreadMatch:
    """The ticket this mail continues, with the reason, or a hint, or NO_MATCH.

    With `automatic` (bounces, complaints, receipts, auto-replies) the report parts are
    searched as well, and nobody is flagged a stranger: a machine answered.
    """
    report = report_text(mail) if automatic else ""
    ids = _referenced_ids(mail, report)
    ticket_id = _by_signed_id(ids, session, settings)
    if ticket_id is not None:
        reason = "signed Message-ID in In-Reply-To/References"
        return _checked(session, mail, ticket_id, reason, automatic)
    ticket_id = _by_known_id(ids, session)
    if ticket_id is not None:
        return _checked(session, mail, ticket_id, "reply to a message of the ticket", automatic)
    body = f"{mail.text[-20_000:]}\n{report}" if report else mail.text[-20_000:]
    ticket_id = ticket_id_from_token(body, domain=settings.mail_domain, secret=settings.secret_key)
    if ticket_id is not None and session.get(TicketRow, ticket_id) is not None:
        return _checked(session, mail, ticket_id, "signed reference in the body", automatic)
    ticket_id, call_id = _by_call_token(session, " ".join(ids) + "\n" + body, settings)
    if ticket_id is not None:
        reason = f"reply to the acknowledgement of call #{call_id}"
        return _checked(session, mail, ticket_id, reason, automatic)
    number = number_in_subject(mail.subject)
    if number is None:
        return ThreadMatch(None, f"reply to call #{call_id}") if call_id else NO_MATCH
    ticket = session.scalar(select(TicketRow).where(TicketRow.number == number))
    if ticket is None:
        return NO_MATCH
    sender = mail.sender.address.lower() if mail.sender else ""
    if sender and sender in participants(session, ticket):
        return ThreadMatch(ticket.id, f"number {number} in the subject, sent by a participant")
    return ThreadMatch(None, f"number {number} in the subject from a non-participant", ticket.id)
