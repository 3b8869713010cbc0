"""Pure rules of issue 18: NIP check digits, the numbering year, the rate precedence, the chart."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
import zoneinfo
from decimal import Decimal

import pytest

from tickets.domain.numbering import numbering_year
from tickets.domain.tax_id import InvalidTaxId, normalise_nip
from tickets.timecost.export import render_time_chart
from tickets.timecost.orm import HourlyRateRow
from tickets.timecost.rates import RateTable
from tickets.timecost.schemas import ReportRow, TimeReport

WARSAW = zoneinfo.ZoneInfo("Europe/Warsaw")


@pytest.mark.parametrize(
    "text", ["5260250995", "PL5260250995", "526-025-09-95", "pl 526 025 09 95"]
)
def test_nip_forms_normalise_to_digits(text: str) -> None:
    assert normalise_nip(text) == "5260250995"


@pytest.mark.parametrize("text", ["5260250994", "0000000001", "526025099", "DE5260250995", "x"])
def test_bad_nips_are_refused(text: str) -> None:
    with pytest.raises(InvalidTaxId):
        normalise_nip(text)


def test_numbering_year_follows_the_desk_calendar() -> None:
    assert numbering_year(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), WARSAW) == 2027
    assert numbering_year(dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.UTC), WARSAW) == 2026
    assert numbering_year(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), dt.UTC) == 2026


def test_the_most_specific_rate_wins() -> None:
    def row(user: int | None, partner: int | None, rate: str) -> HourlyRateRow:
        return HourlyRateRow(user_id=user, partner_id=partner, hourly_rate=Decimal(rate))

    table = RateTable([row(1, None, "120"), row(None, 9, "200"), row(1, 9, "250")])
    assert table.rate(1, 9) == Decimal("250")
    assert table.rate(2, 9) == Decimal("200")
    assert table.rate(1, None) == Decimal("120")
    assert table.rate(1, 8) == Decimal("120")
    assert table.rate(2, None) is None


def test_the_chart_has_whole_hours_on_its_axis() -> None:
    report = TimeReport(
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 30),
        rows=[
            ReportRow("1", "Anna Łącka", 75_600, 3_600, Decimal("1.00")),
            ReportRow("2", "Jan <b>", 1_800, 0, Decimal("0.00")),
        ],
    )
    root = ET.fromstring(render_time_chart(report))
    axes = {
        g.get("class"): [t.text for t in g.iter() if t.tag.endswith("text")]
        for g in root.iter()
        if (g.get("class") or "").startswith("axis")
    }
    values = next(labels for cls, labels in axes.items() if cls and cls.startswith("axis x"))
    assert values == ["0 h", "3 h", "6 h", "9 h", "12 h", "15 h", "18 h", "21 h"]
    assert "Jan <b>" in axes["axis y"]  # escaped by the SVG writer, kept as text
