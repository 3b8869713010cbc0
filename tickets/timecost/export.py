"""The time report as Polish-Excel CSV and as an SVG chart (pygal, as the curation report)."""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal

import pygal

from tickets.curation.chart import _STYLE, _svg
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


POLISH_CHART = {"title": "Czas według {group} [h]", "total": "łącznie", "billable": "rozliczane"}


def render_time_chart(
    report: TimeReport, top: int = 12, words: dict[str, str] | None = None
) -> str:
    """Hours per row (all and billable), the busiest first; the hour axis in whole hours.
    `words`: the title (with `{group}`), the two series' names, and labels by row key."""
    words = words or POLISH_CHART
    rows = report.rows[:top]
    longest = max((r.seconds for r in rows), default=0) / 3600
    ceiling = max(1, math.ceil(longest))
    step = max(1, math.ceil(ceiling / 8))
    chart = pygal.HorizontalBar(
        title=words["title"].replace(
            "{group}", words.get("group", GROUP_TITLES.get(report.group_by, report.group_by))
        ),
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
        y_labels=[{"label": f"{v} h", "value": v} for v in range(0, ceiling + step, step)],
    )
    ordered = list(reversed(rows))
    chart.x_labels = [words.get("row:" + r.key, r.label) for r in ordered]
    chart.add(words["total"], [round(r.seconds / 3600, 2) for r in ordered])
    chart.add(words["billable"], [round(r.billable_seconds / 3600, 2) for r in ordered])
    return _svg(chart)
