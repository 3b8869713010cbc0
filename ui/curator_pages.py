"""The curator's working pages (issue 17 item 8): the keyword dictionary (add, synonyms,
merge) and the week's curation queue with its fixes (keywords, KB links, solution, verified,
merge of duplicates). Forms post to these pages, which call the same services as
`/api/keywords` and `/api/curation/…`."""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.orm import Session

from api.deps import ActorDep, ContainerDep
from search import keywords
from tickets.core.db import utcnow
from tickets.core.schemas import Actor
from tickets.curation import service as curation
from tickets.curation import weeks
from tickets.domain.errors import DomainError, ValidationFailed
from tickets.knowledge.service import MAX_QUERY_CHARS
from ui import i18n
from ui.web import language, page, require_role_page

KEYWORDS_PATH: Final = "/curation/keywords"
QUEUE_PATH: Final = "/curation/queue"
_LIST_SEPARATORS: Final = re.compile(r"[\n,;]+")


def entered_list(text: str) -> list[str]:
    """Comma-, semicolon- or line-separated entries of a form field, trimmed, without blanks."""
    return [item.strip() for item in _LIST_SEPARATORS.split(text) if item.strip()]


def _problem_text(request: Request[Any, Any, Any], exc: Exception) -> str:
    """What went wrong, in the page's language, naming the field where the error names one."""
    t = i18n.translator(language(request))
    if isinstance(exc, ValidationFailed):
        return t("curator.problem.field").format(field=t(f"curator.field.{exc.field}"))
    if isinstance(exc, msgspec.ValidationError):
        match = re.search(r"\$\.(\w+)", str(exc))
        field = t(f"curator.field.{match[1]}") if match else ""
        return t("curator.problem.field").format(field=field)
    return t("curator.problem.generic")


def _back(path: str, **query: str) -> Redirect:
    """Back to the page, keeping its filter: the search's own length (a longer `q` is cut there
    too), so a pasted page of text does not become a `Location` header no client takes."""
    kept = {k: v[:MAX_QUERY_CHARS] for k, v in query.items()}
    return Redirect(f"{path}?{urllib.parse.urlencode(kept)}", status_code=303)


# ---------------------------------------------------------------- the keyword dictionary


def _keywords_page(
    request: Request[Any, Any, Any],
    container: Any,
    actor: Actor,
    *,
    q: str | None,
    saved: str | None = None,
    problem: str | None = None,
) -> Template:
    with container.db.read() as s:
        rows = [keywords.keyword_view(r) for r in keywords.list_keywords(s, q or None)]
    return page(
        request,
        "curation_keywords.html",
        actor=actor,
        status_code=422 if problem else 200,
        keywords=rows,
        q=q or "",
        saved=saved,
        problem=problem,
    )


@get(KEYWORDS_PATH, sync_to_thread=True)
def keywords_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    q: FromQuery[str | None] = None,
    saved: FromQuery[str | None] = None,
) -> Template:
    """The dictionary (or the keywords one of whose forms contains `q`) with its forms."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    return _keywords_page(request, container, actor, q=q, saved=saved)


def _keyword_fields(data: dict[str, str]) -> dict[str, Any]:
    return {
        "name": data.get("name", "").strip(),
        "synonyms": entered_list(data.get("synonyms", "")),
    }


def _submit(
    request: Request[Any, Any, Any],
    container: Any,
    change: Callable[[Session], object],
    *,
    on_problem: Callable[[str], Template],
    then: Redirect,
) -> Response[Any]:
    """Run one change in its own transaction; a refused change shows the page with why."""
    try:
        with container.db.transaction() as s:
            change(s)
    except (DomainError, msgspec.ValidationError) as exc:
        return on_problem(_problem_text(request, exc))
    return then


def _keyword_into(s: Session, name: str) -> int:
    """The id of the keyword whose preferred form is `name` (a merge target)."""
    name = name.strip()
    for k in keywords.list_keywords(s, name) if name else []:
        if k.name == name:
            return k.id
    raise ValidationFailed("into", "choose the keyword to merge into")


@post(KEYWORDS_PATH, sync_to_thread=True, status_code=303)
def keyword_add(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """A new keyword with its synonyms."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    fields = _keyword_fields(data)
    return _submit(
        request,
        container,
        lambda s: keywords.create_keyword(s, actor, msgspec.convert(fields, keywords.KeywordIn)),
        on_problem=lambda problem: _keywords_page(
            request, container, actor, q=None, problem=problem
        ),
        then=_back(KEYWORDS_PATH, saved="added", q=fields["name"]),
    )


@post(f"{KEYWORDS_PATH}/{{keyword_id:int}}", sync_to_thread=True, status_code=303)
def keyword_edit(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    keyword_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """A new preferred form and the whole list of synonyms."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    q, fields = data.get("q", ""), _keyword_fields(data)
    return _submit(
        request,
        container,
        lambda s: keywords.update_keyword(
            s, actor, keyword_id, msgspec.convert(fields, keywords.KeywordPatch)
        ),
        on_problem=lambda problem: _keywords_page(request, container, actor, q=q, problem=problem),
        then=_back(KEYWORDS_PATH, saved="edited", q=q),
    )


@post(f"{KEYWORDS_PATH}/{{keyword_id:int}}/merge", sync_to_thread=True, status_code=303)
def keyword_merge(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    keyword_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Merge this keyword into another: its tickets re-tagged, its forms become synonyms."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    q = data.get("q", "")
    return _submit(
        request,
        container,
        lambda s: keywords.merge_keywords(
            s, actor, keyword_id, _keyword_into(s, data.get("into", ""))
        ),
        on_problem=lambda problem: _keywords_page(request, container, actor, q=q, problem=problem),
        then=_back(KEYWORDS_PATH, saved="merged", q=q),
    )


# ---------------------------------------------------------------- the curation queue


def _queue_page(
    request: Request[Any, Any, Any],
    container: Any,
    actor: Actor,
    week: str,
    *,
    saved: str | None = None,
    problem: str | None = None,
) -> Template:
    with container.db.read() as s:
        queue = curation.curation_queue(s, week)
        dictionary = [k.name for k in keywords.list_keywords(s, None)]
    return page(
        request,
        "curation_queue.html",
        actor=actor,
        status_code=422 if problem else 200,
        queue=queue,
        dictionary=dictionary,
        nav=curation_week_nav(week),
        saved=saved,
        problem=problem,
    )


def curation_week_nav(week: str) -> dict[str, str | None]:
    """Previous, next (never past the current week) and the current and last full weeks."""
    current = weeks.week_of(utcnow())
    following = next_week(week)
    start_following, _ = weeks.week_bounds(following, "UTC")
    start_current, _ = weeks.week_bounds(current, "UTC")
    return {
        "week": week,
        "previous": weeks.previous_week(week),
        "next": following if start_following <= start_current else None,
        "current": current,
        "last_full": weeks.last_full_week(),
    }


def next_week(week: str) -> str:
    start, _ = weeks.week_bounds(week, "UTC")
    iso = (start + dt.timedelta(days=7)).isocalendar()
    return weeks.week_label(iso.year, iso.week)


@get(QUEUE_PATH, sync_to_thread=True)
def queue_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    week: FromQuery[str | None] = None,
    saved: FromQuery[str | None] = None,
) -> Template:
    """The week's solved tickets that lack keywords, a solution, KB links or verification."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    try:
        return _queue_page(request, container, actor, week or weeks.last_full_week(), saved=saved)
    except ValidationFailed as exc:
        last = weeks.last_full_week()
        return _queue_page(request, container, actor, last, problem=_problem_text(request, exc))


def _queue_submit(
    request: Request[Any, Any, Any],
    container: Any,
    actor: Actor,
    data: dict[str, str],
    change: Callable[[Session], object],
    *,
    saved: str,
) -> Response[Any]:
    """A change made from the queue of the form's week: back to that week saying `saved`, or
    its queue again with why the change was refused."""
    week = data.get("week") or weeks.last_full_week()
    return _submit(
        request,
        container,
        change,
        on_problem=lambda problem: _queue_page(request, container, actor, week, problem=problem),
        then=_back(QUEUE_PATH, week=week, saved=saved),
    )


@post(f"{QUEUE_PATH}/{{ticket_id:int}}", sync_to_thread=True, status_code=303)
def queue_fix(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Keywords, KB links, the solution and verification of one ticket, in one form."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    solution = (data.get("solution") or "").strip()
    edit = {
        "add_keywords": entered_list(data.get("keywords", "")),
        "add_kb_links": entered_list(data.get("kb_links", "")),
        "solution": solution or None,
        "verified": True if data.get("verified") == "on" else None,
    }
    return _queue_submit(
        request,
        container,
        actor,
        data,
        lambda s: curation.curate_ticket(
            s, actor, ticket_id, msgspec.convert(edit, curation.CurationEdit)
        ),
        saved=str(ticket_id),
    )


@post(f"{QUEUE_PATH}/{{ticket_id:int}}/merge", sync_to_thread=True, status_code=303)
def queue_merge(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: URLEncodedBody[dict[str, str]],
) -> Response[Any]:
    """Merge a duplicate's solution into the ticket chosen as the group's answer."""
    if (refused := require_role_page(request, actor, "curator", "curator.forbidden")) is not None:
        return refused
    into = data.get("into_ticket_id", "")

    def merge(s: Session) -> object:
        if not into.isdigit():
            raise ValidationFailed("into_ticket_id", "choose the ticket to keep")
        return curation.merge_solution(s, actor, ticket_id, int(into))

    return _queue_submit(request, container, actor, data, merge, saved=f"merged-{ticket_id}")


PAGES: list[Any] = [
    keywords_page,
    keyword_add,
    keyword_edit,
    keyword_merge,
    queue_page,
    queue_fix,
    queue_merge,
]
