"""Tables of campaigns and projects."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class CampaignRow(Base):
    """A campaign: a department's line of work (e.g. "Wdrożenia 2027")."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectRow(Base):
    """A project of a campaign, internal or for a customer (external), on one module."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("campaign_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    """internal or external."""
    module: Mapped[str] = mapped_column(String(200), default="")
    """As in the DevOps module dictionary (`devops_modules.module`), when one is given."""
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"), index=True)
    """The customer of an external project."""
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
