"""Console pages of notifications and projects: the notices behind the bell, the matrix an
administrator edits, the opt-out page of automatic mail (no login), consulting the second
line from the ticket page, and a project with its tasks and events."""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from api.deps import ActorDep, ContainerDep
from tickets.accounts.auth import has_role
from tickets.core.schemas import Actor
from tickets.domain.errors import ValidationFailed
from tickets.notices import consult as consultation
from tickets.notices import inbox, optout, rules
from tickets.projects import service as projects
from ui import i18n
from ui.web import language, page, safe_next

MATRIX_PATH: Final = "/admin/notifications"
GRID_RECIPIENTS: Final = ("lead", "second_line", "watchers", "assigner")


def _refused(request: Request[Any, Any, Any], actor: Actor) -> Template | None:
    if has_role(actor, "admin"):
        return None
    detail = i18n.translator(language(request))("notices.forbidden")
    return page(request, "error.html", actor=actor, status_code=403, detail=detail)


@get("/notifications", sync_to_thread=True)
def notices_page(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    """The caller's notices, unread first marked."""
    with container.db.read() as s:
        notices = inbox.list_notices(s, actor.user_id or -1, unread_only=False, limit=100)
    return page(request, "notices.html", actor=actor, notices=notices)


@post("/notifications/read", sync_to_thread=True, status_code=303)
def notices_mark_read(
    container: ContainerDep, actor: ActorDep, data: URLEncodedBody[dict[str, str]]
) -> Response[Any]:
    """Mark one notice (`id`) or all of them read, then back to the list (or its ticket)."""
    raw = str(data.get("id") or "")
    with container.db.transaction() as s:
        inbox.mark_read(s, actor.user_id or -1, int(raw) if raw.isdigit() else None)
    target = safe_next(str(data.get("next") or ""), "/notifications")
    return Redirect(target if target.startswith("/tickets/") else "/notifications", status_code=303)


def _grid(matrix: rules.RuleMatrix) -> set[str]:
    return {f"{r.event}:{r.recipient}:{r.channel}" for r in matrix.rules
            if not (r.state or r.definition or r.group)}  # fmt: skip


@get(MATRIX_PATH, sync_to_thread=True)
def matrix_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    saved: FromQuery[str | None] = None,
) -> Template:
    """The matrix: events × (recipient, channel); specific cells (a state, a definition, a
    group) listed below it."""
    if (refused := _refused(request, actor)) is not None:
        return refused
    with container.db.read() as s:
        matrix = rules.get_rules(s)
    specific = [r for r in matrix.rules if r.state or r.definition or r.group]
    return page(request, "notice_rules.html", actor=actor, events=rules.EVENTS,
                recipients=GRID_RECIPIENTS, channels=rules.CHANNELS, ticked=_grid(matrix),
                specific=specific, saved=saved)  # fmt: skip


@post(MATRIX_PATH, sync_to_thread=True, status_code=303)
def matrix_save(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    data: URLEncodedBody[dict[str, Any]],
) -> Response[Any]:
    """The ticked grid replaces the general cells; the specific ones stay as they are."""
    if (refused := _refused(request, actor)) is not None:
        return refused
    ticked = [key[2:] for key in data if key.startswith("c:")]
    with container.db.transaction() as s:
        kept = [r for r in rules.get_rules(s).rules if r.state or r.definition or r.group]
        grid = []
        for key in ticked:
            event, recipient, channel = [*key.split(":"), "", "", ""][:3]
            if event in rules.EVENTS and recipient in GRID_RECIPIENTS and channel in rules.CHANNELS:
                grid.append(rules.Rule(event=event, recipient=recipient, channel=channel))  # type: ignore[arg-type]
        rules.put_rules(s, kept + grid, actor.user_id)
    return Redirect(f"{MATRIX_PATH}?saved=1", status_code=303)


@get(optout.OPT_OUT_PATH, sync_to_thread=True)
def opt_out_page(
    request: Request[Any, Any, Any], container: ContainerDep, a: FromQuery[str] = "",
    s: FromQuery[str] = "", done: FromQuery[str] = "",
) -> Template:  # fmt: skip
    """The page the footer of every automatic mail links to: no login, the signature is the
    proof that the link came to this address."""
    settings = container.settings
    valid = bool(a) and optout.valid_signature(settings.secret_key, a, s)
    status = 200 if valid else 403
    with container.db.read() as session:
        out = valid and optout.opted_out(session, a)
    return page(request, "opt_out.html", status_code=status, valid=valid, address=a.lower(),
                signature=s, out=out, done=done)  # fmt: skip


@post(optout.OPT_OUT_PATH, sync_to_thread=True, status_code=303)
def opt_out_save(container: ContainerDep, data: URLEncodedBody[dict[str, str]]) -> Response[Any]:
    address, signature = str(data.get("a") or ""), str(data.get("s") or "")
    if not optout.valid_signature(container.settings.secret_key, address, signature):
        raise ValidationFailed("s", "the link's signature does not match the address")
    out = data.get("action") != "in"
    with container.db.transaction() as session:
        optout.set_opt_out(session, address, out)
    link = optout.opt_out_url("", container.settings.secret_key, address)
    return Redirect(f"{link}&done={'out' if out else 'in'}", status_code=303)


@post("/tickets/{ticket_id:int}/consult", sync_to_thread=True, status_code=303)
def ticket_consult(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Ask the second line (or, as the second line, answer) from the ticket page."""
    text = str(data.get("text") or "").strip()
    if not text:
        raise ValidationFailed("text", "a question or an answer is required")
    with container.db.transaction() as s:
        if data.get("mode") == "answer":
            consultation.answer_consultation(s, actor, ticket_id, text)
        else:
            consultation.consult(s, actor, ticket_id, text)
    return Redirect(f"/tickets/{ticket_id}", status_code=303)


@get("/projects", sync_to_thread=True)
def projects_page(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep
) -> Template:
    with container.db.read() as s:
        campaigns = projects.list_campaigns(s)
        items = projects.list_projects(s, campaign_id=None, kind=None, module=None)
    return page(request, "projects.html", actor=actor, campaigns=campaigns, projects=items)


@get("/projects/{project_id:int}", sync_to_thread=True)
def project_page(
    request: Request[Any, Any, Any], container: ContainerDep, actor: ActorDep,
    project_id: FromPath[int],
) -> Template:  # fmt: skip
    """A project with its tasks and events."""
    with container.db.read() as s:
        detail = projects.project_detail(s, project_id)
    return page(request, "project.html", actor=actor, detail=detail)


PAGES: list[Any] = [notices_page, notices_mark_read, matrix_page, matrix_save, opt_out_page,
                    opt_out_save, ticket_consult, projects_page, project_page]  # fmt: skip
