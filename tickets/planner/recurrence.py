"""Due dates of a recurring schedule: pure date arithmetic, month ends and leap years included."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Final, Literal

Every = Literal["week", "month", "quarter", "year"]
MONTHS: Final[dict[str, int]] = {"month": 1, "quarter": 3, "year": 12}


def add_months(anchor: dt.date, months: int) -> dt.date:
    """`anchor` moved by whole months, its day clamped to the month's length (31 Jan → 28/29 Feb,
    31 Mar → 30 Apr), always counted from the anchor so a clamped month never shifts the next."""
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def due_date(start: dt.date, every: Every, n: int) -> dt.date:
    """The n-th due date (0 = `start`)."""
    if every == "week":
        return start + dt.timedelta(weeks=n)
    return add_months(start, n * MONTHS[every])


def due_dates(start: dt.date, every: Every, end: dt.date | None = None) -> Iterator[dt.date]:
    """Every due date from `start` on, up to `end` (inclusive) when given."""
    n = 0
    while True:
        day = due_date(start, every, n)
        if end is not None and day > end:
            return
        yield day
        n += 1


def first_due_on_or_after(
    start: dt.date, every: Every, day: dt.date, end: dt.date | None = None
) -> dt.date | None:
    """The first due date not before `day`; None when the schedule ends before it."""
    for due in due_dates(start, every, end):
        if due >= day:
            return due
    return None


def creation_date(due: dt.date, lead_days: int) -> dt.date:
    """The day the ticket for `due` is made: `lead_days` before it."""
    return due - dt.timedelta(days=lead_days)
