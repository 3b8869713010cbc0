"""Tables of knowledge-base curation: keyword dictionary, search log, KB link checks, runs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class SearchQueryRow(Base):
    """One search a user settled on (as-you-type prefixes collapse into it), with its hits."""

    __tablename__ = "search_queries"
    __table_args__ = (Index("ix_search_queries_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(String(500))
    folded: Mapped[str] = mapped_column(String(500), index=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class KbLinkRow(Base):
    """The last check of one KB link that some completed ticket carries."""

    __tablename__ = "kb_link_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url_hash: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    ticket_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="unchecked", index=True)
    """`unchecked`, `ok` or `broken`."""
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[dt.datetime | None] = mapped_column()
    broken_since: Mapped[dt.datetime | None] = mapped_column()


class ScheduledRunRow(Base):
    """A periodic job that has run for a period; the unique key makes it run once per period."""

    __tablename__ = "scheduled_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker: Mapped[str] = mapped_column(String(200), default="")
