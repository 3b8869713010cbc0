"""Requests and views of time and cost."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Money = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{1,6}(\.[0-9]{1,2})?$",
        description="PLN as a decimal string with at most 2 places (`150.00`): a string, so that "
        "no binary fraction rounds it.",
    ),
]
GroupBy = Literal["consultant", "partner", "client", "module"]
GROUPS: tuple[str, ...] = ("consultant", "partner", "client", "module")


class RateIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A consultant's rate (`user_id`), a partner contract's (`partner_id`), or both."""

    user_id: int | None = None
    partner_id: int | None = None
    hourly_rate: Money


class RatesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    items: Annotated[list[RateIn], Meta(max_length=2000)]


class RateView(msgspec.Struct):
    user_id: int | None
    partner_id: int | None
    hourly_rate: Decimal
    label: str


class RateList(msgspec.Struct):
    items: list[RateView]
    currency: str = "PLN"


class TimeEntryPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    billable: bool


class ReportRow(msgspec.Struct):
    key: str
    """The consultant's, partner's or client's id, or the module's name; empty: none."""
    label: str
    seconds: int
    billable_seconds: int
    cost: Decimal
    """Billable time × rate, in PLN, rounded half up to the grosz once per row."""


class TimeReport(msgspec.Struct):
    date_from: dt.date = msgspec.field(name="from")
    date_to: dt.date = msgspec.field(name="to")
    group_by: str = "consultant"
    rows: list[ReportRow] = msgspec.field(default_factory=list)
    total_seconds: int = 0
    total_billable_seconds: int = 0
    total_cost: Decimal = Decimal("0.00")
    """The sum of the rows' costs (so the CSV adds up)."""
    currency: str = "PLN"
    unpriced_seconds: int = 0
    """Billable time of consultants with no rate (priced at 0)."""
