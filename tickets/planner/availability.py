"""When an operator can be booked: weekly hours, public holidays, absences. Pure functions."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Final
from zoneinfo import ZoneInfo

import msgspec

from tickets.domain.errors import ValidationFailed

WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Absence(msgspec.Struct, frozen=True):
    """An operator away from `start` to `end` (UTC)."""

    start: dt.datetime
    end: dt.datetime
    reason: str = ""


def parse_clock(text: str, field: str) -> dt.time:
    try:
        hours, minutes = text.split(":")
        if len(minutes) != 2:
            raise ValueError(text)
        if hours == "24" and minutes == "00":
            return dt.time.max
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValidationFailed(field, f"{text!r} is not a time HH:MM") from None


def parse_weekly_hours(raw: Mapping[str, Any]) -> dict[str, list[tuple[dt.time, dt.time]]]:
    """`{"mon": [["08:00", "16:00"]], …}` checked: known days, HH:MM, start before end, no
    overlapping spans."""
    out: dict[str, list[tuple[dt.time, dt.time]]] = {}
    for day, spans in raw.items():
        field = f"weekly_hours.{day}"
        if day not in WEEKDAYS:
            raise ValidationFailed(field, f"unknown day; use {', '.join(WEEKDAYS)}")
        parsed: list[tuple[dt.time, dt.time]] = []
        for span in spans:
            if len(span) != 2:
                raise ValidationFailed(field, "each span is [start, end]")
            start, end = parse_clock(span[0], field), parse_clock(span[1], field)
            if start >= end:
                raise ValidationFailed(field, f"{span[0]} is not before {span[1]}")
            parsed.append((start, end))
        parsed.sort()
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise ValidationFailed(field, "spans overlap")
        out[day] = parsed
    return out


def within_hours(
    start: dt.datetime, end: dt.datetime, hours: Mapping[str, Sequence[tuple[dt.time, dt.time]]]
) -> bool:
    """Whether local `start`–`end` lies inside one working span of one day."""
    if start.date() != end.date() and end.time() != dt.time(0, 0):
        return False
    end_clock = dt.time.max if end.date() != start.date() else end.time()
    spans = hours.get(WEEKDAYS[start.weekday()], ())
    return any(begin <= start.time() and end_clock <= finish for begin, finish in spans)


def unavailable_reason(
    start_utc: dt.datetime,
    end_utc: dt.datetime,
    zone: ZoneInfo,
    hours: Mapping[str, Sequence[tuple[dt.time, dt.time]]],
    holidays: Mapping[dt.date, str],
    absences: Sequence[Absence],
) -> str | None:
    """Why the operator cannot be booked then (a holiday, an absence, outside hours), or None."""
    start, end = start_utc.astimezone(zone), end_utc.astimezone(zone)
    for day in {start.date(), (end - dt.timedelta(microseconds=1)).date()}:
        if day in holidays:
            return f"holiday {day.isoformat()}: {holidays[day]}"
    for absence in absences:
        if absence.start < end_utc and start_utc < absence.end:
            return f"absent: {absence.reason or 'absence'}"
    if not within_hours(start, end, hours):
        return "outside working hours"
    return None


def to_utc(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """An ISO time as UTC; one without an offset is the desk's local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


def parse_time(text: str, zone: ZoneInfo, field: str) -> dt.datetime:
    """An ISO 8601 time from the API as UTC; without an offset it is the desk's local time."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, f"{text!r} is not an ISO 8601 date and time") from None
    if len(text) <= 10:
        raise ValidationFailed(field, f"{text!r} has no time of day")
    return to_utc(value, zone)
