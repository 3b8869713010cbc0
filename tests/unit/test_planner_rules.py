"""Due dates of schedules and operators' availability: pure rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tickets.domain.errors import ValidationFailed
from tickets.planner.availability import (
    Absence,
    parse_weekly_hours,
    to_utc,
    unavailable_reason,
)
from tickets.planner.recurrence import (
    add_months,
    creation_date,
    due_date,
    due_dates,
    first_due_on_or_after,
)

WARSAW = ZoneInfo("Europe/Warsaw")
HOURS = parse_weekly_hours(
    {"mon": [["08:00", "12:00"], ["13:00", "16:00"]], "tue": [["08:00", "16:00"]]}
)


def test_the_31st_is_the_last_day_of_shorter_months_and_comes_back() -> None:
    start = dt.date(2027, 1, 31)
    got = [due_date(start, "month", n) for n in range(5)]
    assert got == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
        dt.date(2027, 5, 31),
    ]


def test_leap_years() -> None:
    assert add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    yearly = list(due_dates(dt.date(2028, 2, 29), "year", dt.date(2033, 1, 1)))
    assert yearly == [
        dt.date(2028, 2, 29),
        dt.date(2029, 2, 28),
        dt.date(2030, 2, 28),
        dt.date(2031, 2, 28),
        dt.date(2032, 2, 29),
    ]


def test_quarterly_and_weekly() -> None:
    assert [due_date(dt.date(2026, 11, 30), "quarter", n) for n in range(3)] == [
        dt.date(2026, 11, 30),
        dt.date(2027, 2, 28),
        dt.date(2027, 5, 30),
    ]
    assert due_date(dt.date(2026, 12, 28), "week", 1) == dt.date(2027, 1, 4)


def test_creation_date_and_the_next_due_date() -> None:
    # the example: monthly on the 10th, 3 lead days → made on the 7th
    assert creation_date(dt.date(2026, 12, 10), 3) == dt.date(2026, 12, 7)
    start = dt.date(2026, 1, 10)
    assert first_due_on_or_after(start, "month", dt.date(2026, 12, 1)) == dt.date(2026, 12, 10)
    assert (
        first_due_on_or_after(start, "month", dt.date(2026, 12, 1), dt.date(2026, 11, 30)) is None
    )


def test_weekly_hours_are_checked_field_by_field() -> None:
    with pytest.raises(ValidationFailed) as bad_day:
        parse_weekly_hours({"pon": [["08:00", "16:00"]]})
    assert bad_day.value.field == "weekly_hours.pon"
    with pytest.raises(ValidationFailed):
        parse_weekly_hours({"mon": [["16:00", "08:00"]]})
    with pytest.raises(ValidationFailed):
        parse_weekly_hours({"mon": [["08:00", "12:00"], ["11:00", "16:00"]]})
    with pytest.raises(ValidationFailed):
        parse_weekly_hours({"mon": [["8:0", "12:00"]]})


def _reason(start: str, end: str, holidays: dict[dt.date, str] | None = None,
            absences: list[Absence] | None = None) -> str | None:  # fmt: skip
    return unavailable_reason(
        to_utc(dt.datetime.fromisoformat(start), WARSAW),
        to_utc(dt.datetime.fromisoformat(end), WARSAW),
        WARSAW,
        HOURS,
        holidays or {},
        absences or [],
    )


def test_availability_inside_hours_only() -> None:
    assert _reason("2026-12-07T08:00", "2026-12-07T10:00") is None  # Monday
    assert _reason("2026-12-07T11:00", "2026-12-07T13:00") == "outside working hours"  # lunch
    assert _reason("2026-12-07T07:30", "2026-12-07T08:30") == "outside working hours"
    assert _reason("2026-12-09T09:00", "2026-12-09T10:00") == "outside working hours"  # Wed
    assert _reason("2026-12-07T15:00", "2026-12-08T09:00") == "outside working hours"


def test_holidays_and_absences_are_never_bookable() -> None:
    christmas_eve = dt.date(2026, 12, 22)
    reason = _reason("2026-12-22T09:00", "2026-12-22T10:00", {christmas_eve: "Wigilia"})
    assert reason is not None and reason.startswith("holiday 2026-12-22")
    leave = Absence(
        start=to_utc(dt.datetime(2026, 12, 7, 12, 0), WARSAW),
        end=to_utc(dt.datetime(2026, 12, 8, 0, 0), WARSAW),
        reason="lekarz",
    )
    assert _reason("2026-12-07T13:00", "2026-12-07T14:00", absences=[leave]) == "absent: lekarz"
    assert _reason("2026-12-07T09:00", "2026-12-07T10:00", absences=[leave]) is None


def test_local_time_without_offset_is_warsaw_and_dst_is_respected() -> None:
    assert to_utc(dt.datetime(2026, 12, 7, 9, 0), WARSAW) == dt.datetime(
        2026, 12, 7, 8, 0, tzinfo=dt.UTC
    )
    assert to_utc(dt.datetime(2026, 7, 7, 9, 0), WARSAW) == dt.datetime(
        2026, 7, 7, 7, 0, tzinfo=dt.UTC
    )
    with_offset = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert to_utc(with_offset, WARSAW) == dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)
