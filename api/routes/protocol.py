"""`GET /api/tickets/{id}/protocol.pdf`: the ticket protocol as a download."""

from __future__ import annotations

import threading
import zoneinfo

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from api.deps import ActorDep, ContainerDep
from tickets.core.db import utcnow
from tickets.protocol.render import protocol_pdf


@get(
    "/api/tickets/{ticket_id:int}/protocol.pdf",
    sync_to_thread=True,
    tags=["tickets"],
    responses={
        200: ResponseSpec(
            data_container=bytes, media_type="application/pdf", description="The protocol (PDF)"
        )
    },
)
def ticket_protocol(
    container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
) -> Response[bytes]:
    """The ticket protocol (client, partner, licence, fields, description, solution, timeline,
    time spent, signature lines) as PDF."""
    from api.container import planner_settings

    tz: zoneinfo.ZoneInfo = planner_settings(container).zone
    with container.db.read() as s:
        number, pdf = protocol_pdf(s, ticket_id, container.protocol, tz, utcnow())
    filename = "protokol-" + number.replace("/", "-") + ".pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def warm_up_printing() -> threading.Thread:
    """Import WeasyPrint (and through it Pango) in the background: the first import takes
    seconds on a busy machine, which the first protocol request should not wait for.

    Only `sedno serve` calls this, for the process that serves people; an app built in a test
    or a tool imports WeasyPrint lazily, at its first protocol request."""

    def load() -> None:
        import weasyprint  # noqa: F401

    thread = threading.Thread(target=load, name="sedno-pdf-warm-up", daemon=True)
    thread.start()
    return thread


ROUTES = [ticket_protocol]
