"""The intake queue: calls with their classification, similar past tickets, one-click decisions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta

from api.container import Container
from api.deps import ActorDep, ContainerDep
from intake.queue import (
    accept_call,
    drop_call,
    drop_pending_calls,
    get_call,
    list_calls,
    restore_call,
)
from search.ports import SimilarRequest
from tickets.core.schemas import Priority, TicketCreate
from tickets.core.services import get_ticket
from tickets.domain.errors import NotFound
from tickets.knowledge.results import SearchResult
from tickets.knowledge.service import similar_suggestions
from ui.call_pages import PRIORITIES, task_definitions
from ui.web import page

STATUSES = ("pending", "accepted", "dropped")
SOURCES = ("mail", "form", "phone")
DROP_REASONS = ("spam", "not_ours", "duplicate")
SIMILAR_FOR_FIRST = 25
"""Similar tickets are looked up for this many calls of a page (each is one search)."""


class AcceptForm(msgspec.Struct, kw_only=True):
    definition: Annotated[str, Meta(min_length=1, max_length=16)] = "ZS"
    title: Annotated[str, Meta(min_length=1, max_length=500)]
    priority: Priority = "normalny"
    product: Annotated[str, Meta(max_length=200)] = ""


class DropForm(msgspec.Struct, kw_only=True):
    reason: Literal["spam", "not_ours", "duplicate"]


class BulkDropForm(msgspec.Struct, kw_only=True):
    ids: list[int] = msgspec.field(default_factory=list)


class QueueRow(msgspec.Struct):
    """A call as the queue shows it, with what its decision needs."""

    call: Any
    body_preview: str
    similar: SearchResult | None


def _similar(container: Container, subject: str, body: str) -> SearchResult | None:
    return similar_suggestions(container, SimilarRequest(text=body[:4000], title=subject, limit=3))


@get("/queue", sync_to_thread=True)
def queue_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    status: FromQuery[str] = "pending",
    source: FromQuery[str | None] = None,
    accepted: FromQuery[int | None] = None,
    dropped: FromQuery[int | None] = None,
    restored: FromQuery[int | None] = None,
) -> Template:
    status = status if status in STATUSES else "pending"
    source = source if source in SOURCES else None
    rows: list[QueueRow] = []
    accepted_ticket: dict[str, object] | None = None
    with container.db.read() as s:
        calls = list_calls(s, status=status, source=source, limit=100)
        details = [get_call(s, c.id) for c in calls.items]
        definitions = task_definitions(s)
        if accepted is not None:
            try:
                row = get_ticket(s, accepted)
                accepted_ticket = {"id": row.id, "number": row.number}
            except NotFound:
                accepted_ticket = None
    for i, call in enumerate(details):
        wants_similar = status == "pending" and call.classification == "ham"
        rows.append(
            QueueRow(
                call=call,
                body_preview=" ".join(call.body_text.split())[:300],
                similar=_similar(container, call.subject, call.body_text)
                if wants_similar and i < SIMILAR_FOR_FIRST
                else None,
            )
        )
    return page(
        request,
        "queue.html",
        actor=actor,
        unavailable=False,
        rows=rows,
        total=calls.total,
        status=status,
        source=source,
        statuses=STATUSES,
        sources=SOURCES,
        reasons=DROP_REASONS,
        definitions=definitions,
        priorities=PRIORITIES,
        accepted_ticket=accepted_ticket,
        dropped=dropped,
        restored=restored,
    )


@post("/queue/{call_id:int}/accept", sync_to_thread=True, status_code=303)
def queue_accept(
    container: ContainerDep,
    actor: ActorDep,
    call_id: FromPath[int],
    data: URLEncodedBody[AcceptForm],
) -> Response[Any]:
    fields = TicketCreate(
        definition=data.definition,
        title=data.title.strip(),
        priority=data.priority,
        product=data.product.strip(),
    )
    with container.db.transaction() as s:
        ticket = accept_call(s, container.intake_ctx, actor, call_id, fields)
        ticket_id = ticket.id
    return Redirect(f"/queue?accepted={ticket_id}", status_code=303)


@post("/queue/{call_id:int}/drop", sync_to_thread=True, status_code=303)
def queue_drop(
    container: ContainerDep,
    actor: ActorDep,
    call_id: FromPath[int],
    data: URLEncodedBody[DropForm],
) -> Response[Any]:
    with container.db.transaction() as s:
        drop_call(s, actor, call_id, data.reason)
    return Redirect("/queue?dropped=1", status_code=303)


@post("/queue/drop-spam", sync_to_thread=True, status_code=303)
def queue_drop_spam(
    container: ContainerDep, actor: ActorDep, data: URLEncodedBody[BulkDropForm]
) -> Response[Any]:
    """Drop the selected calls still pending as spam, in one transaction."""
    with container.db.transaction() as s:
        dropped = drop_pending_calls(s, actor, data.ids, "spam")
    return Redirect(f"/queue?dropped={dropped}", status_code=303)


@post("/queue/{call_id:int}/restore", sync_to_thread=True, status_code=303)
def queue_restore(
    container: ContainerDep, actor: ActorDep, call_id: FromPath[int]
) -> Response[Any]:
    with container.db.transaction() as s:
        restore_call(s, actor, call_id)
    return Redirect("/queue?status=pending&restored=1", status_code=303)
