"""The time report as Polish-Excel CSV and as an SVG chart (pygal, as the curation report)."""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal

import pygal

from tickets.curation_chart import _STYLE, _svg
from tickets.timecost.schemas import TimeReport

GROUP_TITLES = {
    "consultant": "konsultanta",
    "partner": "partnera",
    "client": "klienta",
    "module": "modułu",
}


def _hours(seconds: int) -> str:
    return f"{Decimal(seconds) / Decimal(3600):.2f}".replace(".", ",")


def _money(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def report_csv(report: TimeReport) -> bytes:
    """What Excel in a Polish locale opens by double-click: UTF-8 with a BOM (so `ł` stays
    `ł`), `;` between fields, a decimal comma, CRLF line ends; a total row at the end."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(
        [
            "Klucz",
            "Nazwa",
            "Czas [h]",
            "Czas rozliczany [h]",
            "Sekundy",
            "Sekundy rozliczane",
            "Koszt [PLN]",
        ]
    )
    for r in report.rows:
        w.writerow(
            [
                r.key,
                r.label,
                _hours(r.seconds),
                _hours(r.billable_seconds),
                r.seconds,
                r.billable_seconds,
                _money(r.cost),
            ]
        )
    w.writerow(
        [
            "",
            "Razem",
            _hours(report.total_seconds),
            _hours(report.total_billable_seconds),
            report.total_seconds,
            report.total_billable_seconds,
            _money(report.total_cost),
        ]
    )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_time_chart(report: TimeReport, top: int = 12) -> str:
    """Hours per row (all and billable), the busiest first; the hour axis in whole hours."""
    rows = report.rows[:top]
    longest = max((r.seconds for r in rows), default=0) / 3600
    ceiling = max(1, math.ceil(longest))
    step = max(1, math.ceil(ceiling / 8))
    chart = pygal.HorizontalBar(
        title=f"Czas według {GROUP_TITLES.get(report.group_by, report.group_by)} [h]",
        style=_STYLE,
        js=[],
        disable_xml_declaration=True,
        show_legend=True,
        legend_at_bottom=True,
        print_values=False,
        width=760,
        height=max(220, 60 + 44 * len(rows)),
        margin=16,
        range=(0, ceiling),
        y_labels=list(range(0, ceiling + step, step)),
        value_formatter=lambda v: f"{v:.1f} h".replace(".", ","),
    )
    ordered = list(reversed(rows))
    chart.x_labels = [r.label for r in ordered]
    chart.add("łącznie", [round(r.seconds / 3600, 2) for r in ordered])
    chart.add("rozliczane", [round(r.billable_seconds / 3600, 2) for r in ordered])
    return _svg(chart)
