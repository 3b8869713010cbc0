"""Ticket numbers `CODE/YEAR/N`."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import msgspec

_NUMBER = re.compile(r"^(?P<code>[A-Za-z0-9_-]+)/(?P<year>\d{4})/(?P<n>\d+)$")


class TicketNumber(msgspec.Struct, frozen=True):
    code: str
    year: int
    n: int

    def __str__(self) -> str:
        return f"{self.code}/{self.year}/{self.n}"


def numbering_year(at: dt.datetime, zone: zoneinfo.ZoneInfo) -> int:
    """The year a ticket opened at `at` is numbered in: the desk's calendar year, so a ticket
    opened at 00:30 on 1 January in Warsaw (23:30 UTC on 31 December) is the new year's."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).year


def parse_number(text: str) -> TicketNumber | None:
    """`ZS/2026/17` → TicketNumber; anything else → None."""
    match = _NUMBER.match(text.strip())
    if match is None:
        return None
    return TicketNumber(match["code"].upper(), int(match["year"]), int(match["n"]))


_IN_SUBJECT = re.compile(r"\[(?P<num>[A-Za-z0-9_-]+/\d{4}/\d+)\]")


def number_in_subject(subject: str) -> str | None:
    """The ticket number in a subject such as `Re: [ZS/2026/17] Faktura`."""
    match = _IN_SUBJECT.search(subject or "")
    return match["num"].upper() if match else None
