"""The ticket page: fields, warnings, timeline, allowed transitions, stopwatch, handoff."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import UNSET, Meta
from sqlalchemy.orm import Session

from api.container import Container
from api.deps import ActorDep, ContainerDep, require
from api.routes.search import SearchResult, similar_suggestions
from search.ports import SimilarRequest
from tickets.core import services
from tickets.core.schemas import Actor, TicketPatch, TicketView
from tickets.domain.errors import ValidationFailed
from ui.web import language, mail_html, page


class TransitionForm(msgspec.Struct, kw_only=True):
    to: Annotated[str, Meta(min_length=1, max_length=32)]
    note: Annotated[str, Meta(max_length=200_000)] = ""
    resolution: Literal["", "resolved", "rejected"] = ""
    solution: Annotated[str, Meta(max_length=200_000)] = ""
    force: Literal["", "1"] = ""


class TimerForm(msgspec.Struct, kw_only=True):
    action: Literal["start", "stop"]


class EditForm(msgspec.Struct, kw_only=True):
    title: Annotated[str, Meta(max_length=500)] | None = None
    description: Annotated[str, Meta(max_length=200_000)] | None = None
    solution: Annotated[str, Meta(max_length=200_000)] | None = None
    keywords: Annotated[str, Meta(max_length=5000)] | None = None
    kb_links: Annotated[str, Meta(max_length=50_000)] | None = None
    back: Annotated[str, Meta(max_length=200)] = ""


class VerifyForm(msgspec.Struct, kw_only=True):
    verified: Literal["1", "0"]


class TimelineItem(msgspec.Struct):
    """One entry of the ticket's timeline: a message or a history event."""

    at: dt.datetime
    kind: Literal["message", "history"]
    index: int


def timeline(view: TicketView) -> list[TimelineItem]:
    items = [TimelineItem(m.at, "message", i) for i, m in enumerate(view.messages)]
    items += [TimelineItem(h.at, "history", i) for i, h in enumerate(view.history)]
    return sorted(items, key=lambda item: _aware(item.at))


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _similar(container: Container, view: TicketView) -> SearchResult | None:
    req = SimilarRequest(
        text=view.description[:4000],
        title=view.title,
        limit=5,
        exclude_ids=[view.id],
        product=view.product or "",
        module=view.module or "",
        version=view.version or "",
        type=view.type or "",
        keywords=list(view.keywords or []),
    )
    return similar_suggestions(container, req)


def _reused(view: TicketView) -> list[str]:
    return [str(h.new_value) for h in view.history if h.action == "reused" and h.new_value]


def _running_since(session: Session, actor: Actor, ticket_id: int) -> str | None:
    if actor.user_id is None:
        return None
    entry = services.running_timer(session, actor.user_id, ticket_id)
    return entry.started_at.isoformat() if entry else None


@get("/tickets/{ticket_id:int}", sync_to_thread=True)
def ticket_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
) -> Template:
    from tickets.core.views import ticket_view

    with container.db.read() as s:
        view = ticket_view(s, ticket_id, lang=language(request))
        running_since = _running_since(s, actor, ticket_id)
    return page(
        request,
        "ticket.html",
        actor=actor,
        ticket=view,
        timeline=timeline(view),
        running_since=running_since,
        handoff_enabled=container.settings.devops is not None,
        similar=_similar(container, view) if view.state != "completed" else None,
        reused=_reused(view),
        mail_html={m.id: mail_html(m.body_html) for m in view.messages},
    )


@get("/t/{number:path}", sync_to_thread=True)
def ticket_by_number(container: ContainerDep, actor: ActorDep, number: FromPath[str]) -> Redirect:
    """A ticket number (e.g. from the history) as a link."""
    with container.db.read() as s:
        ticket_id = services.get_ticket_by_number(s, number.strip("/")).id
    return Redirect(f"/tickets/{ticket_id}")


@post("/tickets/{ticket_id:int}/transition", sync_to_thread=True, status_code=303)
def ticket_transition(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[TransitionForm],
) -> Response[Any]:
    from tickets.tasks.completion import ChecklistIncomplete, ChildrenOpen

    try:
        with container.db.transaction() as s:
            services.transition_ticket(
                s,
                actor,
                ticket_id,
                data.to,
                resolution=data.resolution or None,
                solution=data.solution if data.solution.strip() else None,
                note=data.note or None,
                force=data.force == "1",
            )
    except (ChecklistIncomplete, ChildrenOpen) as exc:
        return _not_completed(request, actor, exc)
    except ValidationFailed as exc:
        if exc.field != "note" or data.force != "1":
            raise
        return _not_completed(request, actor, exc)
    return Redirect(f"/tickets/{ticket_id}", status_code=303)


def _not_completed(request: Request[Any, Any, Any], actor: Actor, exc: Exception) -> Template:
    """Why the task cannot be completed yet, in the page's language (409)."""
    from tickets.tasks.completion import ChecklistIncomplete
    from ui import i18n

    t = i18n.translator(language(request))
    if isinstance(exc, ChecklistIncomplete):
        detail = t("ticket.checklist_incomplete") + " " + "; ".join(exc.items)
    elif isinstance(exc, ValidationFailed):
        detail = t("ticket.force_needs_note")
    else:
        detail = t("ticket.children_open") + " " + ", ".join(getattr(exc, "numbers", []))
    return page(request, "error.html", actor=actor, status_code=409, detail=detail)


@post("/tickets/{ticket_id:int}/timer", sync_to_thread=True, status_code=303)
def ticket_timer(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[TimerForm],
) -> Response[Any]:
    with container.db.transaction() as s:
        if data.action == "start":
            services.start_timer(s, actor, ticket_id)
        else:
            services.stop_timer(s, actor, ticket_id)
    return Redirect(f"/tickets/{ticket_id}", status_code=303)


def _words(raw: str) -> list[str]:
    return [w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()]


@post("/tickets/{ticket_id:int}/edit", sync_to_thread=True, status_code=303)
def ticket_edit(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[EditForm],
) -> Response[Any]:
    if data.title is not None and not data.title.strip():
        raise ValidationFailed("title", "must not be empty")
    patch = TicketPatch(
        title=data.title.strip() if data.title is not None else UNSET,
        description=data.description if data.description is not None else UNSET,
        solution=data.solution if data.solution is not None else UNSET,
        keywords=_words(data.keywords) if data.keywords is not None else UNSET,
        kb_links=_words(data.kb_links) if data.kb_links is not None else UNSET,
    )
    with container.db.transaction() as s:
        services.update_ticket(s, actor, ticket_id, patch)
    back = f"/call/{ticket_id}" if data.back == "call" else f"/tickets/{ticket_id}"
    return Redirect(back, status_code=303)


@post("/tickets/{ticket_id:int}/verify", sync_to_thread=True, status_code=303)
def ticket_verify(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[VerifyForm],
) -> Response[Any]:
    require(actor, "curator")
    with container.db.transaction() as s:
        services.update_ticket(s, actor, ticket_id, TicketPatch(verified=data.verified == "1"))
    return Redirect(f"/tickets/{ticket_id}", status_code=303)


@post("/tickets/{ticket_id:int}/handoff", sync_to_thread=True, status_code=303)
def ticket_handoff(
    container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
) -> Response[Any]:
    from tickets.handoff.service import HandoffDisabled, request_handoff

    if container.settings.devops is None:
        raise HandoffDisabled()
    with container.db.transaction() as s:
        request_handoff(s, actor, ticket_id)
    return Redirect(f"/tickets/{ticket_id}", status_code=303)
