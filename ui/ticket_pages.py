"""The ticket page: fields, warnings, timeline, allowed transitions, stopwatch, handoff."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta
from sqlalchemy.orm import Session

from api.container import Container
from api.deps import ActorDep, ContainerDep, require
from api.routes.tickets import mail_sender, read_upload
from search.keywords import keywords_in_text
from search.ports import SimilarRequest
from tickets.console import replies
from tickets.console.choices import field_choices
from tickets.console.handoff_offer import handoff_offer
from tickets.core import services
from tickets.core.schemas import Actor, Priority, TicketPatch, TicketView
from tickets.domain.errors import ValidationFailed
from tickets.knowledge.results import SearchResult
from tickets.knowledge.service import similar_suggestions
from tickets.notifications.service import contact_address
from ui.web import language, mail_html, page


class TransitionForm(msgspec.Struct, kw_only=True):
    to: Annotated[str, Meta(min_length=1, max_length=32)]
    note: Annotated[str, Meta(max_length=200_000)] = ""
    resolution: Literal["", "resolved", "rejected"] = ""
    solution: Annotated[str, Meta(max_length=200_000)] = ""
    force: Literal["", "1"] = ""


class TimerForm(msgspec.Struct, kw_only=True):
    action: Literal["start", "stop"]


Line = Annotated[str, Meta(max_length=200)]


class EditForm(msgspec.Struct, kw_only=True):
    """The ticket page's (and the call console's) edit form: a field sent is a field set."""

    title: Annotated[str, Meta(max_length=500)] | None = None
    description: Annotated[str, Meta(max_length=200_000)] | None = None
    solution: Annotated[str, Meta(max_length=200_000)] | None = None
    notes: Annotated[str, Meta(max_length=200_000)] | None = None
    keywords: Annotated[str, Meta(max_length=5000)] | None = None
    kb_links: Annotated[str, Meta(max_length=50_000)] | None = None
    product: Line | None = None
    module: Line | None = None
    version: Line | None = None
    type: Line | None = None
    area: Line | None = None
    interface: Line | None = None
    priority: Priority | None = None
    contact_name: Line | None = None
    contact_phone: Annotated[str, Meta(max_length=64)] | None = None
    contact_email: Annotated[str, Meta(max_length=320)] | None = None
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


NOTICES: Final = ("reply_sent", "reply_blocked", "note_added", "uploaded")


def console_context(session: Session, view: TicketView) -> dict[str, Any]:
    """What the page's edit, handoff, reply and note forms need beside the ticket."""
    blocked = [h.note for h in view.history if h.action == "reply_blocked"]
    ticket = services.get_ticket(session, view.id)
    return {
        "choices": field_choices(session),
        "offer": handoff_offer(session, view.id),
        "reply_to": contact_address(session, ticket) or "",
        "suggested_keywords": [
            k
            for k in keywords_in_text(session, f"{view.title}\n{view.description}")
            if k not in view.keywords
        ][:8],
        "blocked_note": blocked[-1] if blocked else "",
    }


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
    notice: FromQuery[str] = "",
) -> Template:
    from tickets.core.views import ticket_view

    with container.db.read() as s:
        view = ticket_view(s, ticket_id, lang=language(request))
        running_since = _running_since(s, actor, ticket_id)
        desk = console_context(s, view)
    return page(
        request,
        "ticket.html",
        actor=actor,
        ticket=view,
        timeline=timeline(view),
        running_since=running_since,
        notice=notice if notice in NOTICES else "",
        max_upload=container.settings.attachment_max_bytes,
        **desk,
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


def form_words(raw: str) -> list[str]:
    """Comma- or line-separated words of a form field."""
    return [w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()]


TEXT_FIELDS: Final = ("description", "solution", "notes")
LINE_FIELDS: Final = ("product", "module", "version", "type", "area", "interface", "priority")
OPTIONAL_FIELDS: Final = ("contact_name", "contact_phone", "contact_email")


def edit_patch(data: EditForm) -> TicketPatch:
    """The form's fields as a patch: absent fields stay, an empty contact field clears it."""
    values: dict[str, Any] = {}
    if data.title is not None:
        values["title"] = data.title.strip()
    for field in (*TEXT_FIELDS, *LINE_FIELDS):
        raw = getattr(data, field)
        if raw is not None:
            values[field] = raw if field in TEXT_FIELDS else raw.strip()
    for field in OPTIONAL_FIELDS:
        raw = getattr(data, field)
        if raw is not None:
            values[field] = raw.strip() or None
    if data.keywords is not None:
        values["keywords"] = form_words(data.keywords)
    if data.kb_links is not None:
        values["kb_links"] = form_words(data.kb_links)
    if values.get("priority") == "":
        del values["priority"]
    try:
        return msgspec.convert(values, TicketPatch)
    except ValidationFailed:
        raise
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`").split("`")[0] or "form"
        raise ValidationFailed(field, str(exc)) from None


@post("/tickets/{ticket_id:int}/edit", sync_to_thread=True, status_code=303)
def ticket_edit(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[EditForm],
) -> Response[Any]:
    if data.title is not None and not data.title.strip():
        raise ValidationFailed("title", "must not be empty")
    patch = edit_patch(data)
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


class ReplyForm(msgspec.Struct, kw_only=True):
    text: Annotated[str, Meta(max_length=100_000)]
    to: Annotated[str, Meta(max_length=320)] = ""
    attachment_ids: list[str] | str | None = None


class NoteForm(msgspec.Struct, kw_only=True):
    text: Annotated[str, Meta(max_length=100_000)]


@post("/tickets/{ticket_id:int}/reply", sync_to_thread=True, status_code=303)
def ticket_reply(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[ReplyForm],
) -> Response[Any]:
    """Reply to the customer; a refusal (do-not-contact) comes back as the page's notice."""
    if not data.text.strip():
        raise ValidationFailed("text", "must not be empty")
    ids = data.attachment_ids
    request = msgspec.convert(
        {
            "text": data.text.strip(),
            "to": data.to.strip() or None,
            "attachment_ids": [
                int(i) for i in ([ids] if isinstance(ids, str) else ids or []) if i.isdigit()
            ],
        },
        replies.ReplyRequest,
    )
    with container.db.transaction() as s:
        outcome = replies.reply_to_customer(s, mail_sender(container), actor, ticket_id, request)
    notice = "reply_blocked" if isinstance(outcome, replies.Refused) else "reply_sent"
    return Redirect(f"/tickets/{ticket_id}?notice={notice}#reply", status_code=303)


@post("/tickets/{ticket_id:int}/note", sync_to_thread=True, status_code=303)
def ticket_note(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[NoteForm],
) -> Response[Any]:
    if not data.text.strip():
        raise ValidationFailed("text", "must not be empty")
    with container.db.transaction() as s:
        replies.add_internal_note(s, actor, ticket_id, data.text)
    return Redirect(f"/tickets/{ticket_id}?notice=note_added", status_code=303)


@post("/tickets/{ticket_id:int}/attachments", sync_to_thread=True, status_code=303)
def ticket_upload(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[Any]:
    """Files from the page's file input or dropped on it, with the API's size limit."""
    raw = data.get("files")
    files = [f for f in (raw if isinstance(raw, list) else [raw]) if isinstance(f, UploadFile)]
    if not files:
        raise ValidationFailed("files", "choose a file")
    limit = container.settings.attachment_max_bytes
    contents = [(f, read_upload(f, limit)) for f in files]
    with container.db.transaction() as s:
        for upload, content in contents:
            replies.attach_file(
                s,
                container.blobs,
                actor,
                ticket_id,
                filename=upload.filename or "attachment",
                data=content,
                declared_type=upload.content_type or "",
                max_bytes=limit,
            )
    return Redirect(f"/tickets/{ticket_id}?notice=uploaded", status_code=303)
