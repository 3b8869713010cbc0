"""The call console: find the client, see the warnings, register the call, close it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta
from sqlalchemy.orm import Session

from api.deps import ActorDep, ContainerDep
from intake.channels import take_phone_call
from tickets.console.choices import field_choices
from tickets.core import definitions as defs
from tickets.core import services
from tickets.core.schemas import CloseEventRequest, PhoneEventCreate, Priority
from tickets.core.views import ticket_view
from tickets.directory import service as directory
from ui.search_pages import OPEN_CALL_COOKIE
from ui.ticket_pages import form_words
from ui.web import page

Short = Annotated[str, Meta(max_length=200)]
PRIORITIES: tuple[str, ...] = ("krytyczny", "wysoki", "normalny", "niski")


class CallForm(msgspec.Struct, kw_only=True):
    title: Annotated[str, Meta(min_length=1, max_length=500)]
    description: Annotated[str, Meta(max_length=200_000)] = ""
    client_id: str = ""
    licence: Short = ""
    contact_name: Short = ""
    contact_email: Annotated[str, Meta(max_length=320)] = ""
    contact_phone: Short = ""
    priority: Priority = "normalny"
    product: Short = ""
    module: Short = ""
    version: Short = ""
    type: Short = ""
    area: Short = ""
    interface: Short = ""
    notes: Annotated[str, Meta(max_length=200_000)] = ""
    keywords: Annotated[str, Meta(max_length=5000)] = ""
    kb_links: Annotated[str, Meta(max_length=50_000)] = ""
    call_started_at: Annotated[str, Meta(max_length=64)] = ""
    """When the form was opened: the stopwatch's start, so the time before registering counts."""


class CloseForm(msgspec.Struct, kw_only=True):
    outcome: Literal["completed", "task"] = "completed"
    definition: Annotated[str, Meta(max_length=16)] = "ZS"
    priority: Priority = "normalny"
    solution: Annotated[str, Meta(max_length=200_000)] = ""


PROCESS_FIELDS: Final = ("product", "module", "version", "type", "area", "interface")


def _started(raw: str) -> dt.datetime | None:
    """The form's opening time; anything unreadable counts as now."""
    try:
        at = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def task_definitions(session: Session) -> list[Any]:
    return [d for d in defs.list_definitions(session) if d.kind == "task"]


@get("/call", sync_to_thread=True)
def call_form(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    with container.db.read() as s:
        choices = field_choices(s)
    return page(
        request,
        "call_new.html",
        actor=actor,
        priorities=PRIORITIES,
        choices=choices,
        started_at=services.utcnow().isoformat(),
    )


@post("/call", sync_to_thread=True, status_code=303)
def call_register(
    container: ContainerDep, actor: ActorDep, data: URLEncodedBody[CallForm]
) -> Response[Any]:
    event = msgspec.convert(
        {
            "title": data.title,
            "description": data.description,
            "licence": data.licence.strip() or None,
            "client_id": int(data.client_id) if data.client_id.isdigit() else None,
            "contact_name": data.contact_name.strip() or None,
            "contact_email": data.contact_email.strip() or None,
            "contact_phone": data.contact_phone.strip() or None,
            "priority": data.priority,
            **{f: getattr(data, f).strip() for f in PROCESS_FIELDS},
            "notes": data.notes,
            "keywords": form_words(data.keywords),
            "kb_links": form_words(data.kb_links),
            "call_started_at": _started(data.call_started_at),
        },
        PhoneEventCreate,
    )
    with container.db.transaction() as s:
        row = take_phone_call(s, actor, event)
        event_id = row.id
    response: Response[Any] = Redirect(f"/call/{event_id}", status_code=303)
    response.set_cookie(
        Cookie(key=OPEN_CALL_COOKIE, value=str(event_id), samesite="lax", httponly=True, path="/")
    )
    return response


@get("/call/{ticket_id:int}", sync_to_thread=True)
def call_console(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
) -> Response[Any]:
    with container.db.read() as s:
        view = ticket_view(s, ticket_id, lang="pl")
        if view.kind != "event" or view.state == "completed":
            return Redirect(f"/tickets/{ticket_id}")
        running = services.running_timer(s, actor.user_id, ticket_id) if actor.user_id else None
        running_since = running.started_at.isoformat() if running else None
        tasks = task_definitions(s)
        choices = field_choices(s)
    return page(
        request,
        "call_open.html",
        actor=actor,
        ticket=view,
        running_since=running_since,
        task_definitions=tasks,
        priorities=PRIORITIES,
        choices=choices,
    )


@post("/call/{ticket_id:int}/close", sync_to_thread=True, status_code=303)
def call_close(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[CloseForm],
) -> Response[Any]:
    request = CloseEventRequest(
        create_task=data.outcome == "task",
        definition=data.definition,
        priority=data.priority,
        solution=data.solution.strip() or None,
    )
    with container.db.transaction() as s:
        event, task = services.close_event(s, actor, ticket_id, request)
        target = task.id if task is not None else event.id
    response: Response[Any] = Redirect(f"/tickets/{target}", status_code=303)
    response.set_cookie(Cookie(key=OPEN_CALL_COOKIE, value="", max_age=0, path="/"))
    return response


@get("/fragments/clients", sync_to_thread=True)
def clients_fragment(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    q: FromQuery[str] = "",
) -> Template:
    """Clients matching a licence number or a name as the consultant types, warnings first."""
    clients: list[directory.ClientView] = []
    if q.strip():
        with container.db.read() as s:
            rows, _ = directory.find_clients(s, q=q[:100], limit=8)
            clients = [directory.client_view(r) for r in rows]
    return page(request, "_clients.html", actor=actor, clients=clients, q=q)
