"""Operators' calendars and the desk's holidays (built in from `holidays`, editable)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tickets.core.orm import UserRow
from tickets.domain.errors import NotFound, ValidationFailed
from tickets.planner.availability import Absence, parse_weekly_hours, to_utc
from tickets.planner.orm import HolidayOverrideRow, OperatorCalendarRow
from tickets.planner.schemas import (
    AbsenceIn,
    AbsenceView,
    CalendarPut,
    CalendarView,
    HolidayPut,
    HolidayView,
)
from tickets.planner.settings import PlannerSettings


@functools.lru_cache(maxsize=64)
def builtin_holidays(country: str, year: int) -> dict[dt.date, str]:
    """The public holidays of `country` in `year`, named in Polish where the package can."""
    try:
        table = holidays_lib.country_holidays(country, years=year, language="pl")
    except NotImplementedError:
        table = holidays_lib.country_holidays(country, years=year)
    return dict(sorted(table.items()))


def holiday_list(session: Session, country: str, years: Iterable[int]) -> list[HolidayView]:
    """Built-in holidays with the desk's edits applied, in date order."""
    years = sorted(set(years))
    out: dict[dt.date, HolidayView] = {}
    for year in years:
        for day, name in builtin_holidays(country, year).items():
            out[day] = HolidayView(day=day, name=name, source="builtin")
    overrides = session.scalars(
        select(HolidayOverrideRow).where(
            HolidayOverrideRow.day >= dt.date(years[0], 1, 1),
            HolidayOverrideRow.day <= dt.date(years[-1], 12, 31),
        )
    )
    for row in overrides:
        builtin = out.get(row.day)
        name = row.name or (builtin.name if builtin else "")
        out[row.day] = HolidayView(day=row.day, name=name, source="desk", closed=row.closed)
    return [out[day] for day in sorted(out)]


def closed_days(
    session: Session, country: str, first: dt.date, last: dt.date
) -> dict[dt.date, str]:
    """Days nobody works between `first` and `last`: {day: name}."""
    return {
        h.day: h.name
        for h in holiday_list(session, country, range(first.year, last.year + 1))
        if h.closed and first <= h.day <= last
    }


def set_holiday(session: Session, day: dt.date, data: HolidayPut) -> HolidayOverrideRow:
    row = session.get(HolidayOverrideRow, day)
    if row is None:
        row = HolidayOverrideRow(day=day)
        session.add(row)
    row.name, row.closed = data.name, data.closed
    session.flush()
    return row


def reset_holiday(session: Session, day: dt.date) -> None:
    """Back to the built-in table for that day."""
    row = session.get(HolidayOverrideRow, day)
    if row is None:
        raise NotFound("holiday override", day.isoformat())
    session.delete(row)
    session.flush()


# ---------------------------------------------------------------- operators' calendars


def _moment(text: str, zone: ZoneInfo, field: str, *, end: bool) -> dt.datetime:
    """A date (a whole day: its start, or for `end` the start of the next) or an ISO time."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text) + dt.timedelta(days=1 if end else 0)
            return to_utc(dt.datetime.combine(day, dt.time()), zone)
        return to_utc(dt.datetime.fromisoformat(text), zone)
    except ValueError:
        raise ValidationFailed(field, f"{text!r} is neither a date nor an ISO 8601 time") from None


def parse_absences(items: list[AbsenceIn], zone: ZoneInfo) -> list[Absence]:
    out = []
    for i, item in enumerate(items):
        start = _moment(item.from_, zone, f"absences[{i}].from", end=False)
        end = _moment(item.to, zone, f"absences[{i}].to", end=True)
        if end <= start:
            raise ValidationFailed(f"absences[{i}].to", "the absence ends before it starts")
        out.append(Absence(start=start, end=end, reason=item.reason))
    return out


def operator(session: Session, user_id: int, field: str = "user_id") -> UserRow:
    user = session.get(UserRow, user_id)
    if user is None or not user.active:
        if field == "user_id":
            raise NotFound("user", user_id)
        raise ValidationFailed(field, f"no such active user: {user_id}")
    return user


def put_calendar(
    session: Session, settings: PlannerSettings, user_id: int, data: CalendarPut
) -> OperatorCalendarRow:
    operator(session, user_id)
    parse_weekly_hours(data.weekly_hours)
    absences = parse_absences(data.absences, settings.zone)
    row = session.get(OperatorCalendarRow, user_id, with_for_update=True)
    if row is None:
        row = OperatorCalendarRow(user_id=user_id)
        session.add(row)
    row.weekly_hours = {
        day: [list(span) for span in spans] for day, spans in data.weekly_hours.items()
    }
    row.absences = [absence_json(a) for a in absences]
    row.competences = sorted({c.strip() for c in data.competences if c.strip()})
    row.site, row.group = data.site, data.group
    session.flush()
    return row


def absence_json(absence: Absence) -> dict[str, str]:
    return {
        "from": absence.start.isoformat(),
        "to": absence.end.isoformat(),
        "reason": absence.reason,
    }


def stored_absences(row: OperatorCalendarRow | None) -> list[Absence]:
    if row is None:
        return []
    return [
        Absence(
            start=dt.datetime.fromisoformat(a["from"]),
            end=dt.datetime.fromisoformat(a["to"]),
            reason=a.get("reason", ""),
        )
        for a in row.absences
    ]


def lock_calendar(session: Session, settings: PlannerSettings, user_id: int) -> OperatorCalendarRow:
    """The operator's calendar row, locked for this transaction: bookings of one operator run
    one at a time (PostgreSQL: row lock; SQLite: the writer lock of BEGIN IMMEDIATE). An
    operator without a calendar gets one with the desk's default hours."""
    values = {
        "user_id": user_id,
        "weekly_hours": settings.default_hours,
        "absences": [],
        "competences": [],
        "site": "",
        "group": "",
    }
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(OperatorCalendarRow).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(OperatorCalendarRow).values(values).on_conflict_do_nothing())
    row = session.scalars(
        select(OperatorCalendarRow)
        .where(OperatorCalendarRow.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def calendar_view(session: Session, settings: PlannerSettings, user_id: int) -> CalendarView:
    user = operator(session, user_id)
    row = session.get(OperatorCalendarRow, user_id)
    return CalendarView(
        user_id=user.id,
        name=user.name,
        weekly_hours=row.weekly_hours if row else settings.default_hours,
        absences=[AbsenceView(a.start, a.end, a.reason) for a in stored_absences(row)],
        competences=list(row.competences) if row else [],
        site=row.site if row else "",
        group=row.group if row else "",
        timezone=settings.timezone,
        default=row is None,
    )


def calendars_of_group(
    session: Session, group: str | None
) -> list[tuple[UserRow, OperatorCalendarRow]]:
    """Operators who have a calendar (in `group` when given), by name."""
    query = (
        select(UserRow, OperatorCalendarRow)
        .join(OperatorCalendarRow, OperatorCalendarRow.user_id == UserRow.id)
        .where(UserRow.active.is_(True))
        .order_by(UserRow.name)
    )
    if group:
        query = query.where(OperatorCalendarRow.group == group)
    return [(u, c) for u, c in session.execute(query).all()]


def groups(session: Session) -> list[str]:
    return sorted(g for g in session.scalars(select(OperatorCalendarRow.group).distinct()) if g)
