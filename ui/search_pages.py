"""The start page: knowledge search as you type, facets as filters, similar solutions."""

from __future__ import annotations

from typing import Annotated, Any, Final

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from api.container import Container
from api.deps import ActorDep, ContainerDep
from search.ports import SimilarRequest
from tickets.core.schemas import Actor
from tickets.core.services import get_ticket
from tickets.domain.errors import NotFound
from tickets.knowledge.results import SearchResult
from tickets.knowledge.service import (
    FACETS,
    knowledge_search,
    present_filters,
    similar_suggestions,
)
from ui.console_pages import my_open_work
from ui.web import language, page

OPEN_CALL_COOKIE: Final = "sedno_open_call"
FACET_FIELDS: Final = tuple(FACETS)


class Context(msgspec.Struct):
    """The call or ticket a found solution would be recorded against."""

    id: int
    number: str
    title: str


def open_context(
    container: Container, request: Request[Any, Any, Any], ticket: int | None
) -> Context | None:
    """`?ticket=` if given, else the call this browser registered last and has not closed."""
    ticket_id = ticket
    if ticket_id is None:
        raw = request.cookies.get(OPEN_CALL_COOKIE, "")
        ticket_id = int(raw) if raw.isdigit() else None
    if ticket_id is None:
        return None
    try:
        with container.db.read() as s:
            row = get_ticket(s, ticket_id)
            if ticket is None and row.state == "completed":
                return None
            return Context(row.id, row.number, row.title)
    except NotFound:
        return None


def _search(
    container: Container, q: str, filters: dict[str, str], actor: Actor
) -> SearchResult | None:
    """The API's search, once there is something to search for."""
    if not q.strip() and not filters:
        return None
    return knowledge_search(container, actor, q, filters)


def _render_search(
    request: Request[Any, Any, Any],
    container: Container,
    actor: Actor,
    template: str,
    q: str,
    filters: NamedDependency[dict[str, str]],
    ticket: int | None,
    **extra: Any,
) -> Template:
    """The search page and its as-you-type fragment render the same context."""
    return page(
        request,
        template,
        actor=actor,
        q=q,
        filters=filters,
        facet_fields=FACET_FIELDS,
        result=_search(container, q, filters, actor),
        context=open_context(container, request, ticket),
        **extra,
    )


def search_filters(
    product: FromQuery[str | None] = None,
    module: FromQuery[str | None] = None,
    type: FromQuery[str | None] = None,
    version: FromQuery[str | None] = None,
    keyword: FromQuery[str | None] = None,
) -> dict[str, str]:
    """The facet filters of the search page and its fragment (a dependency of both)."""
    return present_filters(
        product=product, module=module, type=type, version=version, keyword=keyword
    )


FILTERS: Final = {"filters": Provide(search_filters, sync_to_thread=False)}


@get("/", sync_to_thread=True, dependencies=FILTERS)
def search_page(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    filters: NamedDependency[dict[str, str]],
    q: FromQuery[str] = "",
    ticket: FromQuery[int | None] = None,
    open: FromQuery[bool] = False,
) -> Template | Redirect:
    """The search page; Enter in the box (`open=1`) on a ticket number opens that ticket."""
    if open and q.strip():
        result = _search(container, q, filters, actor)
        if result is not None and result.number_match is not None:
            return Redirect(f"/tickets/{result.number_match}", status_code=303)
    my_work = my_open_work(container, actor.user_id, language(request))
    return _render_search(
        request, container, actor, "search.html", q, filters, ticket, my_work=my_work
    )


@get("/fragments/search", sync_to_thread=True, dependencies=FILTERS)
def search_fragment(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    filters: NamedDependency[dict[str, str]],
    q: FromQuery[str] = "",
    ticket: FromQuery[int | None] = None,
) -> Template:
    """The result list, rendered here so the page and the as-you-type view look alike."""
    return _render_search(request, container, actor, "_results.html", q, filters, ticket)


@get("/fragments/similar", sync_to_thread=True)
def similar_fragment(
    request: Request[Any, Any, Any],
    container: ContainerDep,
    actor: ActorDep,
    title: Annotated[str, QueryParameter(max_length=1000)] = "",
    text: Annotated[str, QueryParameter(max_length=4000)] = "",
    ticket: FromQuery[int | None] = None,
) -> Template:
    """Solved tickets similar to what the consultant is typing, beside the form."""
    result = None
    if (title + text).strip():
        req = SimilarRequest(
            text=text, title=title, limit=5, exclude_ids=[ticket] if ticket else []
        )
        result = similar_suggestions(container, req)
    context = open_context(container, request, ticket) if ticket else None
    return page(request, "_similar.html", actor=actor, result=result, context=context)
