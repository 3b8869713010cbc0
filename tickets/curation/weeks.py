"""Curation settings and ISO weeks in the support desk's time zone."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping

import msgspec

from tickets.core.db import utcnow
from tickets.core.settings import SettingsError, env_number
from tickets.domain.errors import ValidationFailed

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CurationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """When the weekly digest goes out (env `SEDNO_CURATION_DAY`, `SEDNO_CURATION_HOUR`)."""

    day: int = 0
    """0 = Monday … 6 = Sunday; the env takes `mon`…`sun`, English names or ISO 1–7."""
    hour: int = 7
    timezone: str = "Europe/Warsaw"


def parse_day(value: str) -> int:
    v = value.strip().lower()
    if v.isdigit() and 1 <= int(v) <= 7:
        return int(v) - 1
    if v[:3] in _DAYS:
        return _DAYS.index(v[:3])
    raise ValueError(f"SEDNO_CURATION_DAY: not a day of the week: {value!r}")


def load_curation_settings(env: Mapping[str, str]) -> CurationSettings:
    """From the composition root's environment (`SEDNO_CURATION_*`)."""
    try:
        day = parse_day(env["SEDNO_CURATION_DAY"]) if env.get("SEDNO_CURATION_DAY") else 0
    except ValueError as exc:
        raise SettingsError("SEDNO_CURATION_DAY", str(exc)) from None
    hour = int(env_number(env, "SEDNO_CURATION_HOUR", 7, whole=True))
    if not 0 <= hour <= 23:
        raise SettingsError("SEDNO_CURATION_HOUR", f"not an hour: {hour}")
    return CurationSettings(
        day=day, hour=hour, timezone=env.get("SEDNO_CURATION_TZ") or "Europe/Warsaw"
    )


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def week_of(at: dt.datetime, tz: str = "Europe/Warsaw") -> str:
    iso = at.astimezone(zoneinfo.ZoneInfo(tz)).isocalendar()
    return week_label(iso.year, iso.week)


def week_bounds(week: str, tz: str = "Europe/Warsaw") -> tuple[dt.datetime, dt.datetime]:
    """UTC start (inclusive) and end (exclusive) of an ISO week `YYYY-Www` in local time."""
    m = _WEEK_RE.match(week.strip())
    if m is None:
        raise ValidationFailed("week", f"{week!r} is not an ISO week like 2026-W07")
    try:
        monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise ValidationFailed("week", str(exc)) from exc
    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime.combine(monday, dt.time(), zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def previous_week(week: str) -> str:
    start, _ = week_bounds(week, "UTC")
    iso = (start - dt.timedelta(days=7)).isocalendar()
    return week_label(iso.year, iso.week)


def last_full_week(now: dt.datetime | None = None, tz: str = "Europe/Warsaw") -> str:
    """The week before the current one: the default of the report."""
    return previous_week(week_of(now or utcnow(), tz))
