"""Threading: does an incoming mail continue a ticket, and why?

In order of trust: our signed Message-ID in In-Reply-To/References; a Message-ID already on a
ticket's timeline; our signed token repeated in the body (servers that rewrite Message-IDs);
the ticket number in the subject, but only from a participant of that ticket. A number from
anyone else is a hint (`possible_ticket_id`), never an attachment: guessing `[ZS/2026/17]`
must not let a stranger write into someone's ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from api.settings import Settings
from intake.ack import ticket_id_from_token
from intake.orm import IntakeCallRow
from intake.parse import ParsedMail
from tickets.adapters.orm import ContactRow, TicketMessageRow, TicketRow
from tickets.domain.numbering import number_in_subject


class ThreadMatch(msgspec.Struct, frozen=True):
    """Where a mail belongs: `ticket_id` to attach to, or only a `possible_ticket_id` hint."""

    ticket_id: int | None
    reason: str
    possible_ticket_id: int | None = None


NO_MATCH = ThreadMatch(None, "")


def _referenced_ids(mail: ParsedMail) -> list[str]:
    ids = [mail.in_reply_to] if mail.in_reply_to else []
    # The nearest ancestor is last in References.
    ids.extend(reversed(mail.references))
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


def find_thread(session: Session, mail: ParsedMail, settings: Settings) -> ThreadMatch:
    """The ticket this mail continues, with the reason, or a hint, or NO_MATCH."""
    ids = _referenced_ids(mail)
    ticket_id = _by_signed_id(ids, session, settings)
    if ticket_id is not None:
        return ThreadMatch(ticket_id, "signed Message-ID in In-Reply-To/References")
    ticket_id = _by_known_id(ids, session)
    if ticket_id is not None:
        return ThreadMatch(ticket_id, "reply to a message of the ticket")
    ticket_id = ticket_id_from_token(
        mail.text[-20_000:], domain=settings.mail_domain, secret=settings.secret_key
    )
    if ticket_id is not None and session.get(TicketRow, ticket_id) is not None:
        return ThreadMatch(ticket_id, "signed reference in the body")
    number = number_in_subject(mail.subject)
    if number is None:
        return NO_MATCH
    ticket = session.scalar(select(TicketRow).where(TicketRow.number == number))
    if ticket is None:
        return NO_MATCH
    sender = mail.sender.address.lower() if mail.sender else ""
    if sender and sender in participants(session, ticket):
        return ThreadMatch(ticket.id, f"number {number} in the subject, sent by a participant")
    return ThreadMatch(None, f"number {number} in the subject from a non-participant", ticket.id)
