"""How the weekly curation report is shown: SVG charts (pygal), CSV, plain text, HTML mail.

Pure functions of a `WeekReport`. Charts are inline SVG without scripts (`js=[]`), so a page
or a mail needs nothing from outside; pygal escapes every label it writes.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

import pygal
from jinja2 import Environment, select_autoescape
from pygal.style import Style

from tickets.curation.shapes import TicketBrief, WeekReport

NO_MODULE = "(bez modułu)"
_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#333",
    foreground_strong="#111",
    foreground_subtle="#999",
    colors=("#2f6f9f", "#4c9a5b", "#d08a2e", "#7b5ea7", "#b4464b"),
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    value_font_size=12,
    title_font_size=16,
)


def _chart_config() -> dict[str, Any]:
    return {
        "style": _STYLE,
        "js": [],
        "disable_xml_declaration": True,
        "show_legend": False,
        "print_values": True,
        "width": 760,
        "height": 300,
        "margin": 16,
    }


def _svg(chart: Any) -> str:
    """The chart's SVG without pygal's script elements (config and tooltips: not needed)."""
    root = chart.render_tree()
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == "script":
                parent.remove(child)
    return ET.tostring(root, encoding="unicode", default_namespace=None)


def integer_ticks(top: int, most: int = 6) -> list[int]:
    """Whole-number axis ticks from 0 to at least `top` in steps of 1, 2, 5, 10, 20, 50…,
    at most `most` steps: counts of tickets have no 0.2."""
    top = max(1, top)
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            steps = -(-top // step)
            if steps <= most:
                return [i * step for i in range(steps + 1)]
        magnitude *= 10


def render_week_chart(report: WeekReport) -> str:
    """The week's resolved tickets and how many of them have keywords, KB links, verification."""
    chart = pygal.HorizontalBar(title=f"Tydzień {report.week}", **_chart_config())
    bars = [
        ("Rozwiązane", report.resolved),
        ("Ze słowami kluczowymi", report.with_keywords),
        ("Z linkami do bazy wiedzy", report.with_kb_links),
        ("Zweryfikowane", report.verified),
    ]
    chart.x_labels = [label for label, _ in reversed(bars)]
    chart.add("zgłoszenia", [value for _, value in reversed(bars)])
    ticks = integer_ticks(report.resolved)
    chart.range = (0, ticks[-1])
    chart.y_labels = ticks
    return _svg(chart)


def render_modules_chart(report: WeekReport, top: int = 8) -> str:
    """Resolved tickets per module, the busiest first."""
    chart = pygal.Bar(title="Rozwiązane według modułu", **_chart_config())
    rows = report.by_module[:top]
    chart.x_labels = [m.module or NO_MODULE for m in rows]
    chart.add("rozwiązane", [m.resolved for m in rows])
    ticks = integer_ticks(max((m.resolved for m in rows), default=1))
    chart.range = (0, ticks[-1])
    chart.y_labels = ticks
    return _svg(chart)


def share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "–"


def report_csv(report: WeekReport) -> str:
    """One CSV of every part of the report: `section, key, value, detail`."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["section", "key", "value", "detail"])
    for key in ("resolved", "with_keywords", "with_kb_links", "verified"):
        w.writerow(["summary", key, getattr(report, key), report.week])

    def ticket_row(section: str, t: TicketBrief, value: Any = "") -> None:
        w.writerow([section, t.number, value, t.title])

    for t in report.missing_keywords:
        ticket_row("missing_keywords", t)
    for t in report.missing_kb_links:
        ticket_row("missing_kb_links", t)
    for i, group in enumerate(report.duplicate_groups, 1):
        for t in group.tickets:
            ticket_row(f"duplicate_group_{i}", t, group.similarity)
    for r in report.top_reused:
        ticket_row("top_reused", r.ticket, r.reuses)
    for q in report.zero_result_queries:
        w.writerow(["zero_result_queries", q.query, q.count, f"users={q.users}"])
    for k in report.new_keywords:
        w.writerow(["new_keywords", k.name, len(k.synonyms), "; ".join(k.synonyms)])
    for link in report.broken_links:
        numbers = " ".join(t.number for t in link.tickets)
        w.writerow(["broken_links", link.url, link.http_status or "", f"{link.error} {numbers}"])
    for m in report.by_module:
        w.writerow(["by_module", m.module or NO_MODULE, m.resolved, ""])
    return out.getvalue()


def report_text(report: WeekReport, link: str = "") -> str:
    """The digest as plain text, in Polish."""
    r = report
    lines = [
        f"Kuracja bazy wiedzy: tydzień {r.week}",
        "",
        f"Rozwiązane zgłoszenia: {r.resolved}",
        f"  ze słowami kluczowymi: {r.with_keywords} ({share(r.with_keywords, r.resolved)})",
        f"  z linkami do bazy wiedzy: {r.with_kb_links} ({share(r.with_kb_links, r.resolved)})",
        f"  zweryfikowane: {r.verified} ({share(r.verified, r.resolved)})",
    ]

    for title, items in _sections(r):
        if items:
            lines.extend(["", f"{title}:", *(f"  - {i}" for i in items)])
    if link:
        lines.extend(["", f"Raport: {link}"])
    return "\n".join(lines) + "\n"


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_DIGEST = _env.from_string(
    """<!doctype html><html lang="pl"><head><meta charset="utf-8">
<title>Kuracja bazy wiedzy {{ r.week }}</title></head>
<body style="font-family:system-ui,sans-serif;color:#222;max-width:760px">
<h1 style="font-size:20px">Kuracja bazy wiedzy: tydzień {{ r.week }}</h1>
<table cellpadding="4"><tr><td>Rozwiązane</td><td><b>{{ r.resolved }}</b></td></tr>
<tr><td>Ze słowami kluczowymi</td><td>{{ r.with_keywords }} ({{ share(r.with_keywords, r.resolved) }})</td></tr>
<tr><td>Z linkami do bazy wiedzy</td><td>{{ r.with_kb_links }} ({{ share(r.with_kb_links, r.resolved) }})</td></tr>
<tr><td>Zweryfikowane</td><td>{{ r.verified }} ({{ share(r.verified, r.resolved) }})</td></tr></table>
{% if chart %}{{ chart | safe }}{% endif %}
{% for title, items in sections %}{% if items %}<h2 style="font-size:16px">{{ title }}</h2>
<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endif %}{% endfor %}
{% if link %}<p><a href="{{ link }}">Otwórz raport w Sedno</a></p>{% endif %}
</body></html>"""
)


def _sections(r: WeekReport) -> list[tuple[str, list[str]]]:
    return [
        ("Bez słów kluczowych", [f"{t.number} {t.title}" for t in r.missing_keywords]),
        ("Bez linków do bazy wiedzy", [f"{t.number} {t.title}" for t in r.missing_kb_links]),
        (
            "Prawdopodobne duplikaty",
            [", ".join(t.number for t in g.tickets) for g in r.duplicate_groups],
        ),
        (
            "Najczęściej wykorzystane rozwiązania",
            [f"{x.ticket.number} {x.ticket.title} ({x.reuses}×)" for x in r.top_reused],
        ),
        ("Wyszukiwania bez wyników", [f"„{q.query}” ({q.count}×)" for q in r.zero_result_queries]),
        ("Nowe słowa kluczowe", [k.name for k in r.new_keywords]),
        (
            "Niedziałające linki",
            [
                f"{b.url} ({b.error}) w {', '.join(t.number for t in b.tickets)}"
                for b in r.broken_links
            ],
        ),
        ("Moduły", [f"{m.module or NO_MODULE}: {m.resolved}" for m in r.by_module]),
    ]


def digest_html(report: WeekReport, link: str = "") -> str:
    """The digest mail's HTML part (no SVG: most mail clients drop it)."""
    return _DIGEST.render(r=report, share=share, sections=_sections(report), link=link, chart="")


def report_html(report: WeekReport, link: str = "") -> str:
    """A standalone HTML page of the report with its chart (`sedno curation report --format html`)."""
    return _DIGEST.render(
        r=report,
        share=share,
        sections=_sections(report),
        link=link,
        chart=render_week_chart(report) + render_modules_chart(report),
    )
