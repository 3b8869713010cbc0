"""Who is calling: the contact, client and partner of a number, warnings first."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import examples as ex
from tickets.core.client_warnings import warnings_for
from tickets.core.orm import ClientRow, ContactRow, PartnerRow, TicketRow
from tickets.core.phone_numbers import display
from tickets.directory import service as directory

RECENT_TICKETS = 5
CLOSED_STATES = ("completed", "cancelled")


class Party(msgspec.Struct):
    """The rows a number belongs to (any may be missing)."""

    contact: ContactRow | None = None
    client: ClientRow | None = None
    partner: PartnerRow | None = None

    @property
    def known(self) -> bool:
        return self.contact is not None or self.client is not None or self.partner is not None


class TicketBrief(msgspec.Struct):
    id: int
    number: ex.TicketNumber
    title: ex.TicketTitle
    state: str
    reported_at: dt.datetime


class CallerView(msgspec.Struct):
    """`GET /api/telephony/lookup`: the caller as the consultant should see them."""

    number: str | None
    """E.164, or None when the text is no phone number."""
    number_display: str
    known: bool
    warnings: list[str]
    """*Zakaz kontaktu* and sales notes: shown before anything else."""
    contact: directory.ContactView | None
    client: directory.ClientView | None
    partner: directory.PartnerView | None
    recent_tickets: list[TicketBrief]


def find_party(session: Session, e164: str | None) -> Party:
    """A contact first (it names the person and, through them, the client), then a client's
    or a partner's own number."""
    if not e164:
        return Party()
    contacts = list(
        session.scalars(
            select(ContactRow).where(ContactRow.phone_e164 == e164).order_by(ContactRow.id)
        )
    )
    contact = next((c for c in contacts if c.client_id is not None), None) or next(
        iter(contacts), None
    )
    client: ClientRow | None = None
    partner: PartnerRow | None = None
    if contact is not None:
        client = session.get(ClientRow, contact.client_id) if contact.client_id else None
        partner = session.get(PartnerRow, contact.partner_id) if contact.partner_id else None
    if client is None and contact is None:
        client = session.scalar(
            select(ClientRow).where(ClientRow.phone_e164 == e164).order_by(ClientRow.id).limit(1)
        )
    if partner is None and client is not None:
        partner = client.partner
    if partner is None and client is None and contact is None:
        partner = session.scalar(
            select(PartnerRow).where(PartnerRow.phone_e164 == e164).order_by(PartnerRow.id).limit(1)
        )
    return Party(contact=contact, client=client, partner=partner)


def recent_tickets(
    session: Session, client_id: int, limit: int = RECENT_TICKETS
) -> list[TicketBrief]:
    """Open tickets first, then the latest closed ones."""
    rows = session.scalars(
        select(TicketRow)
        .where(TicketRow.client_id == client_id)
        .order_by(TicketRow.reported_at.desc(), TicketRow.id.desc())
        .limit(limit * 4)
    )
    ordered = sorted(rows, key=lambda t: t.state in CLOSED_STATES)[:limit]
    return [TicketBrief(t.id, t.number, t.title, t.state, t.reported_at) for t in ordered]


def caller_view(session: Session, e164: str | None, raw: str = "") -> CallerView:
    party = find_party(session, e164)
    contact = (
        msgspec.convert(party.contact, directory.ContactView, from_attributes=True)
        if party.contact is not None
        else None
    )
    return CallerView(
        number=e164,
        number_display=display(e164) if e164 else raw,
        known=party.known,
        warnings=warnings_for(party.client, party.partner),
        contact=contact,
        client=directory.client_view(party.client) if party.client is not None else None,
        partner=directory.partner_view(party.partner) if party.partner is not None else None,
        recent_tickets=recent_tickets(session, party.client.id) if party.client else [],
    )
