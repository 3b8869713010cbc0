"""Tables of intake: the call queue, the dedupe receipts, quarantine, mailbox state, acks, model."""

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
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class IntakeCallRow(Base):
    """One incoming call (mail, web form, phone) waiting for a decision or already decided."""

    __tablename__ = "intake_calls"
    __table_args__ = (
        Index("ix_intake_calls_status_received", "status", "received_at"),
        Index("ix_intake_calls_sender_received", "sender", "received_at"),
        Index("ix_intake_calls_client_address_received", "client_address", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(8))
    """mail, form or phone."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    """pending, accepted or dropped."""
    classification: Mapped[str] = mapped_column(String(16), default="ham")
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    sender: Mapped[str] = mapped_column(String(320), default="")
    """Lower-cased address; empty when the mail had none."""
    sender_name: Mapped[str] = mapped_column(String(300), default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(1000), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    """Already sanitised by the parser."""
    message_id: Mapped[str | None] = mapped_column(String(1000), unique=True)
    """Dedupe key: the Message-ID, or `sha256:<raw hash>` when the mail had none."""
    in_reply_to: Mapped[str | None] = mapped_column(String(1000))
    reference_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    """The raw .eml in the blob store."""
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    possible_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    """A thread hint: the mail named this ticket but could not be attached to it."""
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    licence: Mapped[str | None] = mapped_column(String(64))
    product: Mapped[str] = mapped_column(String(64), default="")
    drop_reason: Mapped[str | None] = mapped_column(String(16))
    dropped_at: Mapped[dt.datetime | None] = mapped_column()
    auto_dropped: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    client_address: Mapped[str | None] = mapped_column(String(64))
    """The web form submitter's IP address."""
    source_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Where it came from: mailbox and UID, API request, form."""


class IntakeReceiptRow(Base):
    """The dedupe ledger: one row per distinct incoming message, whatever became of it.

    Written in the same transaction as its outcome (a call, a threaded message, a quarantine
    entry), so a message seen again, after a crash or a redelivery, returns the first result.
    """

    __tablename__ = "intake_receipts"

    key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    """call, threaded or quarantined."""
    call_id: Mapped[int | None] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    ticket_message_id: Mapped[int | None] = mapped_column(Integer)
    quarantine_id: Mapped[int | None] = mapped_column(Integer)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class QuarantineRow(Base):
    """Input that could not be read as mail (or kept failing): raw bytes kept, never lost."""

    __tablename__ = "intake_quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="mail")
    source_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released: Mapped[bool] = mapped_column(Boolean, default=False)


class MailboxStateRow(Base):
    """High-water mark of an IMAP folder: the last UID ingested under a UIDVALIDITY."""

    __tablename__ = "intake_mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(500), primary_key=True)
    """`user@host:port/folder`."""
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    high_water: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AckLogRow(Base):
    """One acknowledgement sent (queued) to a sender; counts toward the per-day limit."""

    __tablename__ = "intake_ack_log"
    __table_args__ = (Index("ix_intake_ack_log_recipient_at", "recipient", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(320))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    call_id: Mapped[int | None] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(1000))
    purpose: Mapped[str] = mapped_column(String(16), default="accepted")
    """`received` (on arrival, with the call's reference) or `accepted` (the ticket number)."""


class AddressStatusRow(Base):
    """What automatic mail told us about an address: it bounces, or its owner complained."""

    __tablename__ = "intake_address_status"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    """Lower-cased."""
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    """Hard bounces of our mail since the last mail that reached a person."""
    last_bounce_at: Mapped[dt.datetime | None] = mapped_column()
    last_bounce_reason: Mapped[str] = mapped_column(Text, default="")
    complained_at: Mapped[dt.datetime | None] = mapped_column()
    """A feedback-loop complaint (ARF): no automatic mail goes to the address again."""
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SpamModelRow(Base):
    """The serialised intake spam model; `version` grows with every stored update."""

    __tablename__ = "intake_spam_model"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    n_ham: Mapped[int] = mapped_column(Integer, default=0)
    n_spam: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
