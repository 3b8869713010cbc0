"""Hourly rates and which one prices a piece of time."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tickets.core.orm import PartnerRow, UserRow
from tickets.domain.errors import ValidationFailed
from tickets.timecost.orm import HourlyRateRow
from tickets.timecost.schemas import RatesIn, RateView

MAX_RATE = Decimal("100000")
CENT = Decimal("0.01")


class RateTable:
    """The rates in memory, for pricing many entries: the most specific rate wins — the
    consultant on that partner's contract, then the contract, then the consultant's own."""

    def __init__(self, rows: list[HourlyRateRow]) -> None:
        self._rates = {(r.user_id, r.partner_id): Decimal(r.hourly_rate) for r in rows}

    def rate(self, user_id: int, partner_id: int | None) -> Decimal | None:
        if partner_id is not None:
            for key in ((user_id, partner_id), (None, partner_id)):
                if key in self._rates:
                    return self._rates[key]
        return self._rates.get((user_id, None))


def rate_table(session: Session) -> RateTable:
    return RateTable(list(session.scalars(select(HourlyRateRow))))


def _check(session: Session, data: RatesIn) -> None:
    seen: set[tuple[int | None, int | None]] = set()
    for i, item in enumerate(data.items):
        field = f"items[{i}]"
        if item.user_id is None and item.partner_id is None:
            raise ValidationFailed(
                f"{field}.user_id", "a rate needs a consultant, a partner or both"
            )
        if item.user_id is not None and session.get(UserRow, item.user_id) is None:
            raise ValidationFailed(f"{field}.user_id", f"no such user: {item.user_id}")
        if item.partner_id is not None and session.get(PartnerRow, item.partner_id) is None:
            raise ValidationFailed(f"{field}.partner_id", f"no such partner: {item.partner_id}")
        rate = Decimal(item.hourly_rate)
        if not rate.is_finite() or rate < 0 or rate > MAX_RATE or rate != rate.quantize(CENT):
            raise ValidationFailed(
                f"{field}.hourly_rate", "PLN from 0 to 100000 with at most 2 decimal places"
            )
        key = (item.user_id, item.partner_id)
        if key in seen:
            raise ValidationFailed(field, "this consultant and partner are given twice")
        seen.add(key)


def replace_rates(session: Session, data: RatesIn) -> None:
    """The whole rate table replaced by `data` (an empty list removes every rate)."""
    _check(session, data)
    session.execute(delete(HourlyRateRow))
    for item in data.items:
        session.add(
            HourlyRateRow(
                user_id=item.user_id,
                partner_id=item.partner_id,
                hourly_rate=Decimal(item.hourly_rate).quantize(CENT),
            )
        )
    session.flush()


def list_rates(session: Session) -> list[RateView]:
    users = {i: n for i, n in session.execute(select(UserRow.id, UserRow.name))}
    partners = {i: n for i, n in session.execute(select(PartnerRow.id, PartnerRow.name))}
    out = []
    for r in session.scalars(select(HourlyRateRow).order_by(HourlyRateRow.id)):
        parts = []
        if r.user_id is not None:
            parts.append(users.get(r.user_id, f"#{r.user_id}"))
        if r.partner_id is not None:
            parts.append(f"umowa: {partners.get(r.partner_id, f'#{r.partner_id}')}")
        out.append(
            RateView(
                r.user_id, r.partner_id, Decimal(r.hourly_rate).quantize(CENT), " · ".join(parts)
            )
        )
    return out
