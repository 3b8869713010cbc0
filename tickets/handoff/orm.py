"""Tables of the handoff to production: the module dictionary, handoffs, the state mappings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class DevOpsModuleRow(Base):
    """A product module, aligned with a DevOps area path and the price list."""

    __tablename__ = "devops_modules"

    module: Mapped[str] = mapped_column(String(200), primary_key=True)
    """As written on tickets (`TicketRow.module`), e.g. "Kadry Płace"."""
    area_path: Mapped[str] = mapped_column(String(400))
    """e.g. `Sedno\\Kadry Płace`; the work item is created there."""
    price_list_code: Mapped[str] = mapped_column(String(64), default="")
    second_line_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """The production person who takes this module's handoffs."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DevOpsHandoffRow(Base):
    """One ticket handed to production and what Sedno last knew of its work item.

    `rev` is the highest work-item revision applied: a hook, a read or our own update is
    applied only when its revision is higher, so duplicates and late deliveries change nothing.
    """

    __tablename__ = "devops_handoffs"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    """pending (the work item is being created), linked, failed."""
    work_item_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    url: Mapped[str | None] = mapped_column(String(500))
    rev: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str | None] = mapped_column(String(64))
    echo_state: Mapped[str | None] = mapped_column(String(64))
    """A state Sedno itself is setting; its hook is our own echo, not production's answer."""
    last_error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[dt.datetime | None] = mapped_column()


class DevOpsConfigRow(Base):
    """Admin-configurable DevOps settings kept as JSON documents (e.g. the state mappings)."""

    __tablename__ = "devops_config"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
