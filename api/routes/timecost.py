"""Routes of time and cost: the rate table, an entry's billable flag, the time report."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import MediaType, Response, get, patch, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import ActorDep, ContainerDep, require
from api.routes.curation import JsonOrCsvOperation
from tickets.accounts.auth import has_role
from tickets.core.orm import TimeEntryRow
from tickets.core.schemas import TimeEntryView
from tickets.domain.errors import NotFound
from tickets.timecost import rates
from tickets.timecost.export import report_csv
from tickets.timecost.report import build_report, check_period
from tickets.timecost.schemas import RateList, RatesIn, TimeEntryPatch, TimeReport

CSV_SCHEMA = Schema(
    type=OpenAPIType.STRING,
    description="`;`-separated rows for Excel in a Polish locale (UTF-8 with BOM, decimal comma)",
)
DayParam = Annotated[
    str | None,
    QueryParameter(name="from", description="First day, `YYYY-MM-DD` (desk time zone)"),
]


class TimeReportOperation(JsonOrCsvOperation):
    """The report's 200 is JSON or, with `?format=csv`, the Polish-Excel CSV."""

    csv_schema = CSV_SCHEMA


@get(
    "/api/reports/time",
    sync_to_thread=True,
    tags=["reports"],
    responses={
        200: ResponseSpec(
            data_container=TimeReport,
            description="The report as JSON, or as CSV with `?format=csv`",
        )
    },
    operation_class=TimeReportOperation,
)
def time_report(
    container: ContainerDep,
    actor: ActorDep,
    date_from: DayParam = None,
    date_to: Annotated[
        str | None, QueryParameter(name="to", description="Last day, `YYYY-MM-DD`, included")
    ] = None,
    group_by: Annotated[
        str | None,
        QueryParameter(description="`consultant` (default), `partner`, `client` or `module`"),
    ] = None,
    fmt: Annotated[Literal["json", "csv"], QueryParameter(name="format")] = "json",
) -> Response[Any]:
    """Time and cost per consultant, partner, client or module (curators and admins)."""
    require(actor, "curator")
    settings = container.timecost
    start, end, group = check_period(date_from, date_to, group_by, settings)
    with container.db.read() as s:
        report = build_report(s, start, end, group, settings)
    if fmt == "csv":
        name = f"czas-{group}-{start.isoformat()}-{end.isoformat()}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(report, media_type=MediaType.JSON)


@get("/api/rates", sync_to_thread=True, tags=["reports"])
def list_rates(container: ContainerDep, actor: ActorDep) -> RateList:
    """Hourly rates in PLN: per consultant, per partner contract, or both (curators, admins)."""
    require(actor, "curator")
    with container.db.read() as s:
        return RateList(items=rates.list_rates(s))


@put("/api/rates", sync_to_thread=True, tags=["reports"])
def replace_rates(container: ContainerDep, actor: ActorDep, data: JSONBody[RatesIn]) -> RateList:
    """Replace the whole rate table (admins)."""
    require(actor, "admin")
    with container.db.transaction() as s:
        rates.replace_rates(s, data)
        return RateList(items=rates.list_rates(s))


@patch("/api/time-entries/{entry_id:int}", sync_to_thread=True, tags=["tickets"])
def edit_time_entry(
    container: ContainerDep,
    actor: ActorDep,
    entry_id: FromPath[int],
    data: JSONBody[TimeEntryPatch],
) -> TimeEntryView:
    """Mark one's own time entry billable or not (a curator: anyone's)."""
    with container.db.transaction() as s:
        entry = s.get(TimeEntryRow, entry_id)
        if entry is None or (entry.user_id != actor.user_id and not has_role(actor, "curator")):
            raise NotFound("time entry", entry_id)
        entry.billable = data.billable
        s.flush()
        return msgspec.convert(entry, TimeEntryView, from_attributes=True)


ROUTES = [time_report, list_rates, replace_rates, edit_time_entry]
