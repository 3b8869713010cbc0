"""The client card: what a consultant on the phone needs about a client, warnings first."""

from __future__ import annotations

import datetime as dt
from typing import Final
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.console.worklist import TicketFilter, find_tickets
from tickets.core.orm import ContactRow, TicketRow, TimeEntryRow
from tickets.core.schemas import TicketSummary
from tickets.core.services import entry_seconds
from tickets.directory.service import ClientView, client_view, get_client
from tickets.handoff.orm import DevOpsHandoffRow

RECENT_TICKETS: Final = 10
OPEN_TICKETS: Final = 50
BOUNCE_LIMIT: Final = 3
"""As intake counts it (`intake.suppression.BOUNCE_LIMIT`): mail stops after this many."""


class CardContact(msgspec.Struct):
    id: int
    name: str
    role: str
    email: str | None
    phone: str | None
    warnings: list[str]
    """E.g. "adres odbija pocztę (3 zwroty)": mail to this person does not arrive."""


class CardHandoff(msgspec.Struct):
    ticket_id: int
    number: str
    title: str
    status: str
    """pending, linked or failed."""
    work_item_id: int | None
    work_item_url: str | None
    work_item_state: str | None


class ClientCard(msgspec.Struct):
    """`GET /api/clients/{id}/card` and the page `/clients/{id}`."""

    client: ClientView
    warnings: list[str]
    """Zakaz kontaktu and sales notes first, then addresses that bounce or complained."""
    tax_id: str | None
    notes: str
    contacts: list[CardContact]
    open_tickets: list[TicketSummary]
    recent_tickets: list[TicketSummary]
    handoffs: list[CardHandoff]
    month: str
    """The calendar month (desk time) of `time_this_month_s`, `YYYY-MM`."""
    time_this_month_s: int
    tickets_total: int


def _address_warnings(session: Session, addresses: list[str]) -> dict[str, str]:
    """What intake learned about these addresses: bounces and complaints (when installed)."""
    try:
        from intake.orm import AddressStatusRow
    except ImportError:
        return {}
    wanted = [a.strip().lower() for a in addresses if a]
    if not wanted:
        return {}
    out: dict[str, str] = {}
    for row in session.scalars(
        select(AddressStatusRow).where(AddressStatusRow.address.in_(wanted))
    ):
        if row.complained_at is not None:
            out[row.address] = f"{row.address}: adres zgłosił skargę na naszą pocztę"
        elif row.bounces >= BOUNCE_LIMIT:
            out[row.address] = f"{row.address}: adres odbija pocztę ({row.bounces} zwrotów)"
    return out


def _month_start(now: dt.datetime, tz: ZoneInfo) -> tuple[dt.datetime, str]:
    local = now.astimezone(tz)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC), start.strftime("%Y-%m")


def _time_since(session: Session, client_id: int, since: dt.datetime, now: dt.datetime) -> int:
    entries = session.scalars(
        select(TimeEntryRow)
        .join(TicketRow, TicketRow.id == TimeEntryRow.ticket_id)
        .where(TicketRow.client_id == client_id, TimeEntryRow.started_at >= since)
    )
    return sum(entry_seconds(e, now) for e in entries)


def client_card(
    session: Session, client_id: int, now: dt.datetime, tz: ZoneInfo, *, lang: str = "pl"
) -> ClientCard:
    """Everything about one client in one place (404 `NotFound` for an unknown id)."""
    client = get_client(session, client_id)
    view = client_view(client)
    contacts = list(
        session.scalars(
            select(ContactRow).where(ContactRow.client_id == client_id).order_by(ContactRow.name)
        )
    )
    addresses = [a for a in [client.email, *(c.email for c in contacts)] if a]
    bad = _address_warnings(session, addresses)
    open_items, _ = find_tickets(
        session,
        TicketFilter(client_id=client_id, open_only=True, overdue_first=True, limit=OPEN_TICKETS),
        now,
        lang=lang,
    )
    open_ids = {t.id for t in open_items}
    recent, total = find_tickets(
        session, TicketFilter(client_id=client_id, limit=RECENT_TICKETS + len(open_ids)), now
    )
    handoffs = session.execute(
        select(DevOpsHandoffRow, TicketRow.number, TicketRow.title)
        .join(TicketRow, TicketRow.id == DevOpsHandoffRow.ticket_id)
        .where(TicketRow.client_id == client_id)
        .order_by(DevOpsHandoffRow.requested_at.desc())
    ).all()
    since, month = _month_start(now, tz)
    return ClientCard(
        client=view,
        warnings=[*view.warnings, *dict.fromkeys(bad.values())],
        tax_id=client.tax_id,
        notes=client.notes,
        contacts=[
            CardContact(
                id=c.id,
                name=c.name,
                role=c.role,
                email=c.email,
                phone=c.phone,
                warnings=[bad[c.email.lower()]] if c.email and c.email.lower() in bad else [],
            )
            for c in contacts
        ],
        open_tickets=open_items,
        recent_tickets=[t for t in recent if t.id not in open_ids][:RECENT_TICKETS],
        handoffs=[
            CardHandoff(
                ticket_id=h.ticket_id,
                number=number,
                title=title,
                status=h.status,
                work_item_id=h.work_item_id,
                work_item_url=h.url,
                work_item_state=h.state,
            )
            for h, number, title in handoffs
        ],
        month=month,
        time_this_month_s=_time_since(session, client_id, since, now),
        tickets_total=total,
    )
