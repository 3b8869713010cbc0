"""Tables of the planner: schedules and their occurrences, calendars, holidays, appointments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class ServiceScheduleRow(Base):
    """A maintenance contract: a ticket `lead_days` before each due date, every `every`."""

    __tablename__ = "service_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    definition_code: Mapped[str] = mapped_column(ForeignKey("definitions.code"))
    every: Mapped[str] = mapped_column(String(16))
    """`week`, `month`, `quarter` or `year`."""
    start_date: Mapped[dt.date] = mapped_column(Date)
    """The first due date; later ones keep its weekday or day of the month (clamped)."""
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    lead_days: Mapped[int] = mapped_column(Integer, default=0)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ticket_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    """The first due date without a ticket yet (None: the schedule has ended)."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScheduleOccurrenceRow(Base):
    """One due date of a schedule and the ticket made for it; the key makes it exactly once."""

    __tablename__ = "schedule_occurrences"

    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("service_schedules.id", ondelete="CASCADE"), primary_key=True
    )
    due_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    worker: Mapped[str] = mapped_column(String(200), default="")


class OperatorCalendarRow(Base):
    """An operator's working week, absences, competences, site and planning group."""

    __tablename__ = "operator_calendars"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """`{"mon": [["08:00", "16:00"]], …}` in the desk's local time."""
    absences: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """`[{"from": ISO UTC, "to": ISO UTC, "reason": str}]`."""
    competences: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Modules or ticket types the operator may do; empty means any."""
    site: Mapped[str] = mapped_column(String(200), default="")
    group: Mapped[str] = mapped_column(String(100), default="", index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HolidayOverrideRow(Base):
    """The desk's edit of the built-in public holidays: a day off added, or one removed."""

    __tablename__ = "holiday_overrides"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    closed: Mapped[bool] = mapped_column(Boolean, default=True)
    """True: nobody works that day; False: a built-in holiday the desk works on."""
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AppointmentRow(Base):
    """A ticket's work booked in an operator's time (UTC)."""

    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_operator_start", "operator_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[dt.datetime] = mapped_column()
    ends_at: Mapped[dt.datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    """`scheduled`, `done` or `cancelled`; only a cancelled one frees its time."""
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    """iCalendar SEQUENCE: bumped on every move and on cancelling."""
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="pl")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column()
