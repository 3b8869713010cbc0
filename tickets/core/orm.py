"""Tables of the ticket core: definitions, tickets, directory, users, time, history, the
keyword dictionary."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from tickets.core.db import Base, utcnow
from tickets.core.phone_numbers import to_e164


class DefinitionRow(Base):
    __tablename__ = "definitions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    number_pattern: Mapped[str] = mapped_column(String(64))
    states: Mapped[list[Any]] = mapped_column(JSON)
    transitions: Mapped[dict[str, Any]] = mapped_column(JSON)
    initial_state: Mapped[str] = mapped_column(String(32))
    final_states: Mapped[list[str]] = mapped_column(JSON)
    notify_states: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketCounterRow(Base):
    """Last number given per definition per year; bumped in the creating transaction."""

    __tablename__ = "ticket_counters"

    definition_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("definitions.code"), primary_key=True
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_n: Mapped[int] = mapped_column(Integer, default=0)


class DictionaryEntryRow(Base):
    """Configurable value lists: products, ticket types, priorities, submission modes."""

    __tablename__ = "dictionary_entries"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    value: Mapped[str] = mapped_column(String(100))
    label_pl: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    notify_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class PhoneNumbered:
    """A row with a `phone` keeps its E.164 form in `phone_e164`, however the phone is set."""

    phone_e164: str | None

    @validates("phone")
    def _normalise_phone(self, _key: str, value: str | None) -> str | None:
        self.phone_e164 = to_e164(value)
        return value


class PartnerRow(PhoneNumbered, Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    """`phone` normalised to E.164, for finding a caller by number."""
    tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """NIP, digits only (checksum validated when set through the directory)."""
    street: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="PL")
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ClientRow(PhoneNumbered, Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    search_name: Mapped[str] = mapped_column(String(300), default="", index=True)
    """The name folded (lower case, no diacritics) for look-ups as you type."""
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    """`phone` normalised to E.164, for finding a caller by number."""
    tax_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """NIP, digits only (checksum validated when set through the directory)."""
    street: Mapped[str] = mapped_column(String(300), default="")
    postal_code: Mapped[str] = mapped_column(String(16), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="PL")
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    sales_note: Mapped[str] = mapped_column(Text, default="")
    consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    """The client's own consultant (opiekun klienta): their calls go to this person first."""
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    """What the desk keeps about the client (the client card shows it)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    partner: Mapped[PartnerRow | None] = relationship(lazy="joined")
    licences: Mapped[list[LicenceRow]] = relationship(
        back_populates="client", lazy="selectin", order_by="LicenceRow.number"
    )


class LicenceRow(Base):
    __tablename__ = "licences"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    product: Mapped[str] = mapped_column(String(64))
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)

    client: Mapped[ClientRow] = relationship(back_populates="licences")


class ContactRow(PhoneNumbered, Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    """`phone` normalised to E.164, for finding a caller by number."""
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    role: Mapped[str] = mapped_column(String(100), default="")
    """What the person is at the client, e.g. "księgowa", "administrator IT"."""
    preferred_channel: Mapped[str] = mapped_column(String(16), default="email")
    """`email` or `phone`: how the person wants to be reached."""


# Intake asks "is this sender a known contact, client or partner?" for every mail, by the
# address in lower case: one expression index a table keeps that look-up off a full scan.
Index("ix_contacts_email_lower", func.lower(ContactRow.email))
Index("ix_clients_email_lower", func.lower(ClientRow.email))
Index("ix_partners_email_lower", func.lower(PartnerRow.email))


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("definition_code", "year", "seq"),
        Index("ix_tickets_state_completed", "state", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    definition_code: Mapped[str] = mapped_column(ForeignKey("definitions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32), index=True)
    resolution: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    solution: Mapped[str] = mapped_column(Text, default="")
    lead_consultant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    licence: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    module: Mapped[str] = mapped_column(String(200), default="")
    area: Mapped[str] = mapped_column(String(200), default="")
    interface: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(32), default="")
    submission_mode: Mapped[str] = mapped_column(String(32), default="")
    priority: Mapped[str] = mapped_column(String(16), default="normalny")
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column()
    notes: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    kb_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_name: Mapped[str | None] = mapped_column(String(300))
    """Who called or wrote, as the consultant noted it (the contact row may be shared)."""
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    reuse_count: Mapped[int] = mapped_column(Integer, default=0)
    devops_work_item_id: Mapped[int | None] = mapped_column(BigInteger)
    devops_url: Mapped[str | None] = mapped_column(String(500))
    devops_rev: Mapped[int | None] = mapped_column(Integer)
    devops_state: Mapped[str | None] = mapped_column(String(64))
    second_line_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    """The project (of a campaign) the task or event belongs to (`tickets.projects`)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(100), default="", index=True)
    """A name from the task category dictionary (`task_categories`), or empty."""
    due_from: Mapped[dt.datetime | None] = mapped_column()
    due_to: Mapped[dt.datetime | None] = mapped_column(index=True)
    """The deadline: an open task past it is overdue."""
    location: Mapped[str] = mapped_column(String(300), default="")
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    """The task's time may be billed; an entry is billable only if its task is too."""
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    """The client has paid for the task."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketHistoryRow(Base):
    """Who changed what, when, from which value."""

    __tablename__ = "ticket_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class TicketMessageRow(Base):
    """A message on a ticket's timeline: an incoming mail, an outgoing mail, a note."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    direction: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(String(1000), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(1000), index=True)
    call_id: Mapped[int | None] = mapped_column(Integer)
    attach_reason: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    spam_score: Mapped[float | None] = mapped_column(Float)
    """The intake spam score of an incoming mail threaded onto the ticket."""
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    """A bounce, complaint, read receipt or auto-reply: shown, never acted on."""
    sender_flag: Mapped[str] = mapped_column(String(100), default="")
    """A warning about the sender, e.g. "nadawca spoza zgłoszenia"."""
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    """The raw mail in the blob store (incoming mail threaded by intake)."""


class AttachmentRow(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[int | None] = mapped_column(Integer, index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id"))
    filename: Mapped[str] = mapped_column(String(500))
    declared_type: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TimeEntryRow(Base):
    __tablename__ = "time_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column()
    stopped_at: Mapped[dt.datetime | None] = mapped_column()
    seconds: Mapped[int | None] = mapped_column(Integer)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    """This entry may be billed (and its task is billable): counted in `billable_seconds`."""


class ReuseRow(Base):
    """ "This earlier solution helped": a reuse of a solved ticket for another one."""

    __tablename__ = "reuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    source_ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KeywordRow(Base):
    """A dictionary keyword (kept by `tickets.curation`, read by search and the console): its preferred form (`name`) and the synonyms that mean the same."""

    __tablename__ = "keywords"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    folded: Mapped[str] = mapped_column(String(100), unique=True)
    """`name` folded (lower case, no diacritics, single spaces): what uniqueness is checked on."""
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
