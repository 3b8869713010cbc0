"""The time report: time and cost per consultant, partner, client or module over a period."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import ClientRow, PartnerRow, TicketRow, TimeEntryRow, UserRow
from tickets.domain.errors import ValidationFailed
from tickets.timecost.rates import CENT, rate_table
from tickets.timecost.schemas import GROUPS, ReportRow, TimeReport
from tickets.timecost.settings import TimeCostSettings

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NONE_LABELS = {
    "consultant": "(bez konsultanta)",
    "partner": "(bez partnera)",
    "client": "(bez klienta)",
    "module": "(bez modułu)",
}


def parse_day(field: str, text: str | None) -> dt.date:
    """`YYYY-MM-DD` or `ValidationFailed` naming the parameter."""
    if not text or not _DATE.match(text):
        raise ValidationFailed(field, f"{text!r} is not a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(field, f"{text!r} is not a day of the calendar") from None


def check_period(
    date_from: str | None, date_to: str | None, group_by: str | None, settings: TimeCostSettings
) -> tuple[dt.date, dt.date, str]:
    start = parse_day("from", date_from)
    end = parse_day("to", date_to)
    if end < start:
        raise ValidationFailed("to", "the period ends before it starts")
    if (end - start).days + 1 > settings.max_report_days:
        raise ValidationFailed("to", f"a report covers at most {settings.max_report_days} days")
    group = group_by or "consultant"
    if group not in GROUPS:
        raise ValidationFailed("group_by", f"{group!r} is not one of {', '.join(GROUPS)}")
    return start, end, group


def _bounds(start: dt.date, end: dt.date, settings: TimeCostSettings) -> tuple[dt.datetime, ...]:
    """Local midnight of `start` up to local midnight after `end`, in UTC."""
    zone = settings.zone
    lo = dt.datetime.combine(start, dt.time(), zone).astimezone(dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    return lo, hi


def _names(session: Session, model: type[UserRow | PartnerRow | ClientRow]) -> dict[int, str]:
    return {int(i): str(n) for i, n in session.execute(select(model.id, model.name))}


def build_report(
    session: Session, start: dt.date, end: dt.date, group_by: str, settings: TimeCostSettings
) -> TimeReport:
    """Stopped time entries that started in the period (desk days), grouped.

    Cost is billable time × the rate that applies to the entry (`RateTable`); an entry is
    billable when it and its task both are. Each row's cost is rounded half up to the grosz
    once, from the exact sum; the total is the sum of the rows."""
    lo, hi = _bounds(start, end, settings)
    rows = session.execute(
        select(TimeEntryRow, TicketRow)
        .join(TicketRow, TicketRow.id == TimeEntryRow.ticket_id)
        .where(
            TimeEntryRow.started_at >= lo,
            TimeEntryRow.started_at < hi,
            TimeEntryRow.seconds.is_not(None),
        )
    ).all()
    rates = rate_table(session)
    client_partner = {i: p for i, p in session.execute(select(ClientRow.id, ClientRow.partner_id))}
    seconds: dict[str, int] = defaultdict(int)
    billable: dict[str, int] = defaultdict(int)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    unpriced = 0
    for entry, ticket in rows:
        partner_id = ticket.partner_id
        if partner_id is None and ticket.client_id is not None:
            partner_id = client_partner.get(ticket.client_id)
        key = {
            "consultant": str(entry.user_id),
            "partner": str(partner_id) if partner_id is not None else "",
            "client": str(ticket.client_id) if ticket.client_id is not None else "",
            "module": ticket.module or "",
        }[group_by]
        secs = int(entry.seconds or 0)
        seconds[key] += secs
        if entry.billable and ticket.billable:
            billable[key] += secs
            rate = rates.rate(entry.user_id, partner_id)
            if rate is None:
                unpriced += secs
            else:
                cost[key] += Decimal(secs) * rate / Decimal(3600)
    names: dict[int, str] = {}
    if group_by == "consultant":
        names = _names(session, UserRow)
    elif group_by == "partner":
        names = _names(session, PartnerRow)
    elif group_by == "client":
        names = _names(session, ClientRow)

    def label(key: str) -> str:
        if not key:
            return NONE_LABELS[group_by]
        if group_by == "module":
            return key
        return names.get(int(key), f"#{key}")

    out = [
        ReportRow(
            key=key,
            label=label(key),
            seconds=seconds[key],
            billable_seconds=billable[key],
            cost=cost[key].quantize(CENT, rounding=ROUND_HALF_UP),
        )
        for key in seconds
    ]
    out.sort(key=lambda r: (-r.seconds, r.label))
    return TimeReport(
        date_from=start,
        date_to=end,
        group_by=group_by,
        rows=out,
        total_seconds=sum(r.seconds for r in out),
        total_billable_seconds=sum(r.billable_seconds for r in out),
        total_cost=sum((r.cost for r in out), Decimal("0.00")),
        unpriced_seconds=unpriced,
    )
