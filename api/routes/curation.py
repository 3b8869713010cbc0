"""Curation routes: the weekly report (JSON, CSV), the queue, per-ticket fixes, link checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from litestar import MediaType, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Schema,
)
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_202_ACCEPTED

from api.deps import ActorDep, ContainerDep, changed_ticket, require
from tickets.core.schemas import TicketView
from tickets.core.views import ticket_view
from tickets.curation import schedule as curation_schedule
from tickets.curation import service as curation
from tickets.curation import shapes as curation_shapes
from tickets.curation import weeks as curation_weeks
from tickets.curation.chart import report_csv

Format = Literal["json", "csv"]
CSV = "text/csv"
CSV_SCHEMA = Schema(
    type=OpenAPIType.STRING,
    description="`section,key,value,detail` rows with a header line (UTF-8)",
)


@dataclass
class JsonOrCsvOperation(Operation):
    """An operation whose 200 is JSON or, on `?format=csv`, CSV: both media types documented."""

    csv_schema: ClassVar[Schema] = CSV_SCHEMA
    """What the CSV holds; a report of another shape names its own in a subclass."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {**(ok.content or {}), CSV: OpenAPIMediaType(schema=self.csv_schema)}


class LinkCheckStarted(msgspec.Struct):
    job_id: int
    status: str


def _report(container: Any, week: str | None) -> curation_shapes.WeekReport:
    return curation.current_report(container.db, container.search_log, week)


def _csv(report: curation_shapes.WeekReport) -> Response[Any]:
    return Response(
        report_csv(report),
        media_type=CSV,  # Litestar adds "; charset=utf-8" to text types itself
        headers={"Content-Disposition": f'attachment; filename="curation-{report.week}.csv"'},
    )


@get(
    "/api/curation/week",
    sync_to_thread=True,
    tags=["curation"],
    responses={
        200: ResponseSpec(
            data_container=curation_shapes.WeekReport,
            description="The report as JSON, or as CSV with `?format=csv`",
            generate_examples=False,
        )
    },
    operation_class=JsonOrCsvOperation,
)
def curation_week(
    container: ContainerDep,
    actor: ActorDep,
    week: FromQuery[str | None] = None,
    fmt: Annotated[Format, QueryParameter(name="format")] = "json",
) -> Response[Any]:
    """The curation report of an ISO week (default: last week); `?format=csv` for CSV."""
    require(actor, "curator")
    report = _report(container, week)
    if fmt == "csv":
        return _csv(report)
    return Response(report, media_type=MediaType.JSON)


@get(
    "/api/curation/week.csv",
    sync_to_thread=True,
    tags=["curation"],
    responses={
        200: ResponseSpec(
            data_container=str, media_type=CSV, description="CSV", generate_examples=False
        )
    },
)
def curation_week_csv(
    container: ContainerDep, actor: ActorDep, week: FromQuery[str | None] = None
) -> Response[Any]:
    """The curation report as CSV (`section, key, value, detail`)."""
    require(actor, "curator")
    return _csv(_report(container, week))


@get("/api/curation/queue", sync_to_thread=True, tags=["curation"])
def curation_queue(
    container: ContainerDep, actor: ActorDep, week: FromQuery[str | None] = None
) -> curation_shapes.CurationQueue:
    """The week's resolved tickets that lack keywords, a solution or KB links; duplicates."""
    require(actor, "curator")
    with container.db.read() as s:
        return curation.curation_queue(s, week or curation_weeks.last_full_week())


@post(
    "/api/curation/tickets/{ticket_id:int}", status_code=200, sync_to_thread=True, tags=["curation"]
)
def curate_ticket(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: JSONBody[curation.CurationEdit],
) -> TicketView:
    """Add keywords / KB links, set the solution, mark verified."""
    require(actor, "curator")
    return changed_ticket(
        container, ticket_id, lambda s: curation.curate_ticket(s, actor, ticket_id, data)
    )


@post(
    "/api/curation/tickets/{ticket_id:int}/merge",
    status_code=200,
    sync_to_thread=True,
    tags=["curation"],
)
def merge_ticket(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: JSONBody[curation.MergeRequest],
) -> TicketView:
    """Merge this ticket's solution into another's; returns the target."""
    require(actor, "curator")
    with container.db.transaction() as s:
        target = curation.merge_solution(s, actor, ticket_id, data.into_ticket_id)
        return ticket_view(s, target.id)


@post(
    "/api/curation/linkcheck", status_code=HTTP_202_ACCEPTED, sync_to_thread=True, tags=["curation"]
)
def start_link_check(container: ContainerDep, actor: ActorDep) -> LinkCheckStarted:
    """Check every KB link now (the outbox worker does it); results show in the report."""
    require(actor, "curator")
    with container.db.transaction() as s:
        job_id = curation_schedule.start_link_check(s)
    return LinkCheckStarted(job_id=job_id, status="queued")


ROUTES = [
    curation_week,
    curation_week_csv,
    curation_queue,
    curate_ticket,
    merge_ticket,
    start_link_check,
]
