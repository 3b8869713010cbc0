"""The hourly rates: per consultant, per partner contract, or per consultant on a contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, func
from sqlalchemy.orm import Mapped, mapped_column

from tickets.core.db import Base, utcnow


class HourlyRateRow(Base):
    """A rate in PLN an hour. `user_id` alone: the consultant's rate; `partner_id` alone: the
    partner contract's rate for anyone; both: that consultant on that contract."""

    __tablename__ = "hourly_rates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    hourly_rate: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# One rate per (consultant, contract) pair; NULLs are not equal in a unique constraint, so the
# key is the pair with 0 for "any".
Index(
    "uq_hourly_rates_scope",
    func.coalesce(HourlyRateRow.user_id, 0),
    func.coalesce(HourlyRateRow.partner_id, 0),
    unique=True,
)
