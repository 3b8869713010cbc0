"""Tables of notifications: the rule matrix, in-app notices, addresses that opted out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class NotificationRuleRow(Base):
    """One ticked cell of the matrix: at `event`, tell `recipient` through `channel`."""

    __tablename__ = "notification_rules"
    __table_args__ = (
        UniqueConstraint("event", "state", "definition", "recipient", "group_name", "channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    """created, assigned, state, reply, handoff_returned, consultation."""
    state: Mapped[str] = mapped_column(String(32), default="")
    """For `state`: the state moved to; empty = any state."""
    definition: Mapped[str] = mapped_column(String(16), default="")
    """A definition code (ZS, ZW, …); empty = every definition."""
    recipient: Mapped[str] = mapped_column(String(16))
    """lead, contact, second_line, watchers, group."""
    group_name: Mapped[str] = mapped_column(String(100), default="")
    """For `group`: the planning group of the operators (`operator_calendars.group`)."""
    channel: Mapped[str] = mapped_column(String(8))
    """notice (in the console) or email."""


class NoticeRow(Base):
    """An in-app notice for one user (the bell in the console's top bar)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column()


class MailOptOutRow(Base):
    """An address that asked for no more automatic mail (the signed link in every footer)."""

    __tablename__ = "mail_opt_outs"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    """Lower case."""
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class NotificationMatrixRow(Base):
    """The matrix as a whole (one row): written with the defaults once, then by each edit."""

    __tablename__ = "notification_matrix"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
