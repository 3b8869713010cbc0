"""Tables of telephony: the status dictionary, consultants' lines, calls and their events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class TelephonyStatusRow(Base):
    """A user status (Wolny, Rozmowa z klientem, …); the desk may add its own."""

    __tablename__ = "telephony_statuses"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_pl: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    routable: Mapped[bool] = mapped_column(Boolean, default=False)
    """A consultant in this status is free: calls are routed to them."""
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class TelephonyUserRow(Base):
    """A consultant's line: extension (SIP number), current status, competences for routing."""

    __tablename__ = "telephony_users"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    extension: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(ForeignKey("telephony_statuses.code"), default="away")
    status_since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    on_call_id: Mapped[int | None] = mapped_column(Integer)
    """The call that put the consultant on a call (status changed by the PBX, not by hand)."""
    free_at: Mapped[dt.datetime | None] = mapped_column()
    """End of the wrap-up after that call: from then on the consultant is free again."""
    competences: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Modules the consultant handles (e.g. "Kadry Płace"): calls about them may go here."""


class CallRow(Base):
    """One phone call, from PBX events, a call-log import, or both."""

    __tablename__ = "telephony_calls"
    __table_args__ = (Index("ix_telephony_calls_state_started", "state", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    """The PBX's id of the call (Asterisk uniqueid/linkedid, 3CX history id)."""
    source: Mapped[str] = mapped_column(String(16))
    """`events` (live from the PBX), `asterisk` or `3cx` (call-log import)."""
    direction: Mapped[str] = mapped_column(String(8), default="inbound")
    number: Mapped[str] = mapped_column(String(64), default="")
    """The outside party's number as the PBX gave it."""
    number_e164: Mapped[str | None] = mapped_column(String(32), index=True)
    extension: Mapped[str | None] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    state: Mapped[str] = mapped_column(String(16))
    """ringing, answered, ended (after an answer), missed (ended unanswered)."""
    started_at: Mapped[dt.datetime] = mapped_column()
    answered_at: Mapped[dt.datetime | None] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    talk_s: Mapped[int | None] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    """The ZT event of the call."""
    callback_done_at: Mapped[dt.datetime | None] = mapped_column()
    callback_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallEventRow(Base):
    """An event the PBX sent, once per (call, event): the idempotency key and the pop feed."""

    __tablename__ = "telephony_call_events"
    __table_args__ = (
        UniqueConstraint("call_id", "event"),
        Index("ix_telephony_call_events_user_received", "user_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column()
    """When it happened at the PBX."""
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The consultant whose console shows it."""
