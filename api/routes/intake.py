"""Intake routes: the pipe for MTAs, the public web form, and the intake queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta

from api.container import Container
from api.deps import ActorDep, ContainerDep, container_of, require
from intake import channels, ingest, queue, receipts
from intake import form as web_form
from intake.handlers import intake_context
from tickets.core.schemas import Priority, TicketCreate, TicketView
from tickets.core.views import ticket_view

MAIL_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
PIPE_MAX_BYTES = 128 * 1024 * 1024
"""A raw mail is larger than the attachments it carries (base64): the pipe takes more than
the API's request cap; intake keeps what is over `SEDNO_INTAKE_MAIL_MAX_BYTES` in quarantine."""


class AcceptIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Accepting a call: the definition and any fields the consultant sets; the rest comes
    from the call (subject, text, sender, known client)."""

    definition: Annotated[str, Meta(min_length=1, max_length=16)] = "ZS"
    title: Annotated[str, Meta(min_length=1, max_length=500)] | None = None
    description: Annotated[str, Meta(max_length=200_000)] = ""
    client_id: int | None = None
    partner_id: int | None = None
    contact_id: int | None = None
    licence: Annotated[str, Meta(max_length=64)] | None = None
    lead_consultant_id: int | None = None
    product: Annotated[str, Meta(max_length=200)] = ""
    version: Annotated[str, Meta(max_length=200)] = ""
    module: Annotated[str, Meta(max_length=200)] = ""
    area: Annotated[str, Meta(max_length=200)] = ""
    type: Annotated[str, Meta(max_length=200)] = ""
    priority: Priority = "normalny"
    keywords: list[Annotated[str, Meta(max_length=100)]] = msgspec.field(default_factory=list)


DropReason = Literal["spam", "not_ours", "duplicate"]


class DropIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: DropReason


class BulkDropIn(msgspec.Struct, forbid_unknown_fields=True):
    ids: Annotated[list[int], Meta(min_length=1, max_length=500)]
    reason: DropReason = "spam"


class CallResult(msgspec.Struct, omit_defaults=True):
    status: str
    call_id: int | None = None
    ticket_id: int | None = None
    quarantine_id: int | None = None
    classification: str | None = None


def _ingest(container: Container, raw: bytes, info: dict[str, Any]) -> receipts.IngestResult:
    with container.db.transaction() as s:
        return ingest.ingest_mail(s, intake_context(container), raw, source_info=info)


@post(
    "/api/intake/mail",
    tags=["intake"],
    request_max_body_size=PIPE_MAX_BYTES,
    status_code=202,
    responses={
        200: ResponseSpec(
            CallResult, description="The same Message-ID seen before", generate_examples=False
        )
    },
    opt={"request_body": {t: {"type": "string", "minLength": 1} for t in MAIL_TYPES}},
)
async def pipe_mail(request: Request[Any, Any, Any], actor: ActorDep) -> Response[CallResult]:
    """A raw RFC 822 message from an MTA: 202 new call or threaded reply, 200 if seen before."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in MAIL_TYPES:
        raise ClientException(
            "send the raw message with Content-Type: message/rfc822", status_code=415
        )
    raw = await request.body()
    if not raw.strip():
        raise ClientException("the message is empty", status_code=400, extra={"field": "body"})
    container = container_of(request)
    info = {"pipe": {"user": actor.name}}
    result = await anyio.to_thread.run_sync(_ingest, container, raw, info)
    body = CallResult(
        status=result.status,
        call_id=result.call_id,
        ticket_id=result.ticket_id if result.outcome == "threaded" else None,
        quarantine_id=result.quarantine_id,
        classification=result.classification,
    )
    return Response(body, status_code=200 if result.duplicate else 202)


@post("/api/intake/form", status_code=202, sync_to_thread=True, tags=["intake"], security=[])
def web_form_submit(
    request: Request[Any, Any, Any], data: JSONBody[web_form.FormSubmission]
) -> Response[channels.FormReceipt]:
    """Public, rate-limited per client address and per sender; `website` is a honeypot."""
    container = container_of(request)
    client_address = request.client.host if request.client else None
    with container.db.transaction() as s:
        receipt = channels.submit_form(
            s, intake_context(container), data, client_address=client_address
        )
    return Response(receipt, status_code=202)


@get("/api/intake/calls", sync_to_thread=True, tags=["intake"])
def list_calls(
    container: ContainerDep,
    actor: ActorDep,
    status: FromQuery[str | None] = None,
    source: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> queue.CallPage:
    with container.db.read() as s:
        return queue.list_calls(s, status, source, limit, offset)


@get("/api/intake/calls/{call_id:int}", sync_to_thread=True, tags=["intake"])
def show_call(container: ContainerDep, actor: ActorDep, call_id: FromPath[int]) -> queue.CallDetail:
    with container.db.read() as s:
        return queue.get_call(s, call_id)


@post(
    "/api/intake/calls/{call_id:int}/accept",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    tags=["intake"],
)
def accept_call(
    container: ContainerDep, actor: ActorDep, call_id: FromPath[int], data: JSONBody[AcceptIn]
) -> TicketView:
    """Open a ticket from the call, in the same transaction that marks it accepted."""
    with container.db.transaction() as s:
        call = queue.get_call_row(s, call_id)
        fields = msgspec.structs.asdict(data)
        fields["title"] = data.title or " ".join(call.subject.split())[:500] or "(bez tematu)"
        ticket = queue.accept_call(
            s, intake_context(container), actor, call_id, TicketCreate(**fields)
        )
        return ticket_view(s, ticket.id)


@post("/api/intake/calls/{call_id:int}/drop", status_code=200, sync_to_thread=True, tags=["intake"])
def drop_call(
    container: ContainerDep, actor: ActorDep, call_id: FromPath[int], data: JSONBody[DropIn]
) -> queue.CallDetail:
    with container.db.transaction() as s:
        queue.drop_call(s, actor, call_id, data.reason)
        return queue.get_call(s, call_id)


@post("/api/intake/calls/drop", status_code=200, sync_to_thread=True, tags=["intake"])
def bulk_drop(
    container: ContainerDep, actor: ActorDep, data: JSONBody[BulkDropIn]
) -> dict[str, int]:
    """Drop many pending calls at once (spam sweeps); calls no longer pending are skipped."""
    with container.db.transaction() as s:
        dropped = queue.drop_pending_calls(s, actor, data.ids, data.reason)
    return {"dropped": dropped}


@post(
    "/api/intake/calls/{call_id:int}/restore", status_code=200, sync_to_thread=True, tags=["intake"]
)
def restore_call(
    container: ContainerDep, actor: ActorDep, call_id: FromPath[int]
) -> queue.CallDetail:
    with container.db.transaction() as s:
        queue.restore_call(s, actor, call_id)
        return queue.get_call(s, call_id)


@post(
    "/api/tickets/{ticket_id:int}/messages/{message_id:int}/move-out",
    status_code=HTTP_201_CREATED,
    sync_to_thread=True,
    tags=["intake"],
)
def move_message_out(
    container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int], message_id: FromPath[int]
) -> queue.CallDetail:
    """Take a mail intake threaded onto the ticket back into the queue as a pending call."""
    with container.db.transaction() as s:
        call = queue.move_message_out(s, actor, ticket_id, message_id)
        return queue.get_call(s, call.id)


@get("/api/intake/quarantine", sync_to_thread=True, tags=["intake"])
def quarantine(
    container: ContainerDep,
    actor: ActorDep,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0)] = 0,
) -> list[queue.QuarantineEntry]:
    """What could not be read, with its raw bytes kept (admin)."""
    require(actor, "admin")
    with container.db.read() as s:
        return queue.list_quarantine(s, limit, offset)


ROUTES = [
    pipe_mail,
    web_form_submit,
    list_calls,
    show_call,
    accept_call,
    drop_call,
    bulk_drop,
    restore_call,
    move_message_out,
    quarantine,
]
