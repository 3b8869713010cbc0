"""The time and cost report page: a period, a grouping, a chart and the table (curators)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from api.deps import ActorDep, ContainerDep
from tickets.accounts.auth import has_role
from tickets.domain.errors import ValidationFailed
from tickets.timecost.export import render_time_chart
from tickets.timecost.report import build_report, check_period
from tickets.timecost.schemas import GROUPS, TimeReport
from ui import i18n
from ui.curation_views import svg_data_uri
from ui.web import language, page


def _this_month(zone: Any) -> tuple[str, str]:
    today = dt.datetime.now(zone).date()
    first = today.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first.isoformat(), (following - dt.timedelta(days=1)).isoformat()


def hours(seconds: int, lang: str) -> str:
    text = f"{seconds / 3600:.2f}"
    return text if lang == "en" else text.replace(".", ",")


def _chart_words(t: Any, report: TimeReport) -> dict[str, str]:
    return {
        "title": t("time.chart_title"),
        "group": t(f"time.chart_group.{report.group_by}"),
        "total": t("time.seconds"),
        "billable": t("time.billable_seconds"),
        "row:": t(f"time.none.{report.group_by}"),
    }


def money(value: Decimal, lang: str) -> str:
    """`1 234,50` in Polish (a non-breaking space between thousands), `1,234.50` in English."""
    text = f"{value:,.2f}"
    return text if lang == "en" else text.replace(",", "\u00a0").replace(".", ",")


@get("/reports/time", sync_to_thread=True)
def time_report_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    date_from: FromQuery[str | None] = None,
    date_to: FromQuery[str | None] = None,
    group_by: FromQuery[str | None] = None,
) -> Template:
    lang = language(request)
    t = i18n.translator(lang)
    if not has_role(actor, "curator"):
        return page(request, "error.html", actor=actor, status_code=403, detail=t("time.forbidden"))
    settings = container.timecost
    first, last = _this_month(settings.zone)
    form = {
        "date_from": date_from or first,
        "date_to": date_to or last,
        "group_by": group_by or "consultant",
    }
    problem = None
    report = None
    try:
        start, end, group = check_period(
            form["date_from"], form["date_to"], form["group_by"], settings
        )
    except ValidationFailed as exc:
        field = {"from": "date_from", "to": "date_to"}.get(exc.field, exc.field)
        problem = t(f"time.bad.{field}")
    else:
        with container.db.read() as s:
            report = build_report(s, start, end, group, settings)
    csv_url = (
        f"/api/reports/time?from={form['date_from']}&to={form['date_to']}"
        f"&group_by={form['group_by']}&format=csv"
    )
    return page(
        request,
        "time_report.html",
        actor=actor,
        status_code=200 if problem is None else 422,
        form=form,
        groups=GROUPS,
        report=report,
        problem=problem,
        hours=lambda seconds: hours(seconds, lang),
        money=lambda value: money(value, lang),
        chart=svg_data_uri(render_time_chart(report, words=_chart_words(t, report)))
        if report and report.rows
        else None,
        csv_url=csv_url,
    )


PAGES = [time_report_page]
