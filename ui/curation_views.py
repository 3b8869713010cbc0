"""The weekly curation report page: numbers, a server-rendered chart, the lists to work on."""

from __future__ import annotations

import base64
from typing import Any

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from api.deps import ActorDep, ContainerDep, require
from tickets.curation import service as curation
from tickets.curation import weeks as curation_weeks
from tickets.curation.chart import render_modules_chart, render_week_chart, share
from ui.curator_pages import curation_week_nav
from ui.web import page


def svg_data_uri(svg: str) -> str:
    """The chart as an image source: the page's CSP forbids inline styles, not `data:` images."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@get("/curation/week", sync_to_thread=True)
def curation_week_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    week: FromQuery[str | None] = None,
) -> Template:
    require(actor, "curator")
    week = week or curation_weeks.last_full_week()
    report = curation.current_report(container.db, container.search_log, week)
    return page(
        request,
        "curation_week.html",
        actor=actor,
        report=report,
        share=share,
        previous=curation_weeks.previous_week(week),
        nav=curation_week_nav(week),
        week_chart=svg_data_uri(render_week_chart(report)),
        modules_chart=svg_data_uri(render_modules_chart(report)),
    )


ROUTES = [curation_week_page]
