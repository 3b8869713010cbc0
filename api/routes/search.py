"""Knowledge search routes: as-you-type search and similar past tickets."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import msgspec
from litestar import get, post, put
from litestar.exceptions import ServiceUnavailableException
from litestar.params import FromQuery, JSONBody, QueryParameter
from msgspec import Meta

from api.deps import ActorDep, ContainerDep, require
from api.metrics import SEARCH_LATENCY
from api.search_log import search_log
from search.collapse import collapse
from search.numbers import find_ticket_by_number, parse_number_query
from search.ports import SearchRequest, SearchResponse, SearchUnavailable, SimilarRequest
from search.stopwords import (
    MAX_STOP_WORD_CHARS,
    MAX_STOP_WORDS,
    replace_stop_words,
    stop_words,
)
from tickets.core import examples as ex
from tickets.core.schemas import Actor
from tickets.domain.errors import ValidationFailed

FACETS = ["product", "module", "type", "version", "keyword"]
MAX_QUERY_CHARS = 500
COLLAPSE_OVERFETCH = 3
"""Hits asked of the engine per one shown: copies of one answer collapse into one."""
MAX_SIMILAR_FETCHED = 50
MAX_SEARCH_FETCHED = 100


class SameSolution(msgspec.Struct):
    """A ticket whose solution is the one of the hit it was collapsed into."""

    ticket_id: int
    number: ex.TicketNumber
    title: ex.TicketTitle


class Hit(msgspec.Struct):
    ticket_id: int
    number: ex.TicketNumber
    title: ex.TicketTitle
    title_highlighted: str
    snippet: str
    solution: ex.Solution
    keywords: ex.Keywords
    kb_links: ex.KbLinks
    product: ex.Product
    module: ex.Module
    type: ex.TicketType
    version: ex.Version
    score: float
    resolution: str = ""
    """`resolved`, `rejected` ("we will not do it", shown as such) or empty (a phone event)."""
    same_solution: list[SameSolution] = msgspec.field(default_factory=list)
    """Lower-ranked hits with the same solution, collapsed into this one (`search.collapse`)."""


class SearchResult(msgspec.Struct):
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    total: int
    took_ms: float
    number_match: int | None = None
    """The id of the ticket whose number the query is (its hit comes first), else null."""


class SimilarIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(max_length=100_000)]
    title: Annotated[str, Meta(max_length=1000)] = ""
    limit: Annotated[int, Meta(ge=1, le=50)] = 10
    filters: dict[str, str | list[str]] = msgspec.field(default_factory=dict)
    exclude_ids: list[int] = msgspec.field(default_factory=list)
    product: Annotated[str, Meta(max_length=64)] = ""
    """The call's categorical fields: tickets that agree rank higher (nothing is excluded)."""
    module: Annotated[str, Meta(max_length=200)] = ""
    version: Annotated[str, Meta(max_length=64)] = ""
    type: Annotated[str, Meta(max_length=32)] = ""
    keywords: Annotated[list[Annotated[str, Meta(max_length=200)]], Meta(max_length=50)] = (
        msgspec.field(default_factory=list)
    )


def to_result(response: SearchResponse, *, limit: int | None = None) -> SearchResult:
    """The engine's hits with the same solution collapsed into the best of them; at most
    `limit` of those (all when None)."""
    groups = collapse(response.hits, lambda h: h.solution)[:limit]
    return SearchResult(
        hits=[
            Hit(
                h.id,
                h.number,
                h.title,
                h.title_highlighted,
                h.snippet,
                h.solution,
                list(h.keywords),
                list(h.kb_links),
                h.product,
                h.module,
                h.type,
                h.version,
                h.score,
                h.resolution,
                [SameSolution(c.id, c.number, c.title) for c in copies],
            )
            for h, *copies in groups
        ],
        facets=response.facets,
        total=response.total,
        took_ms=response.took_ms,
    )


def present_filters(**values: str | None) -> dict[str, str]:
    """The filters a consultant set, by field (unset and empty ones dropped)."""
    return {field: value for field, value in values.items() if value}


def knowledge_search(
    container: Any,
    actor: Actor | None,
    q: str,
    filters: dict[str, str],
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """The search the API and the UI both run: words, filters, the standard facets, a page of
    `limit` different solutions (copies collapsed into each; `offset` counts tickets)."""
    req = SearchRequest(
        q=q[:MAX_QUERY_CHARS],
        filters=dict(filters),
        facets=list(FACETS),
        limit=min(MAX_SEARCH_FETCHED, limit * COLLAPSE_OVERFETCH),
        offset=offset,
    )
    result = run_search(container, req, actor, limit=limit)
    if offset == 0 and parse_number_query(req.q) is not None:
        with container.db.read() as s:
            row = find_ticket_by_number(s, req.q)
            if row is not None:
                result = with_ticket_first(result, number_hit(row))
    return result


def number_hit(row: Any) -> Hit:
    """A ticket found by its number, as a hit (any state: it may have no solution yet)."""
    return Hit(
        row.id,
        row.number,
        row.title,
        html.escape(row.title),
        html.escape((row.description or "")[:300]),
        row.solution or "",
        list(row.keywords or []),
        list(row.kb_links or []),
        row.product or "",
        row.module or "",
        row.type or "",
        row.version or "",
        0.0,
        resolution=row.resolution or "",
    )


def with_ticket_first(result: SearchResult, hit: Hit) -> SearchResult:
    """`result` with `hit` first (and not again further down)."""
    others = [h for h in result.hits if h.ticket_id != hit.ticket_id]
    return msgspec.structs.replace(
        result,
        hits=[hit, *others],
        total=result.total + (len(others) == len(result.hits)),
        number_match=hit.ticket_id,
    )


@contextmanager
def engine_call(endpoint: str) -> Iterator[None]:
    """Time a call into the engine; an outage is a 503, a filter it refuses a 400 naming it."""
    try:
        with SEARCH_LATENCY.time(endpoint=endpoint):
            yield
    except SearchUnavailable as exc:
        raise ServiceUnavailableException(f"search is unavailable: {exc}") from exc
    except ValueError as exc:
        raise ValidationFailed("filters", str(exc)) from exc


def run_search(
    container: Any, req: SearchRequest, actor: Actor | None = None, *, limit: int | None = None
) -> SearchResult:
    """Search, logging the query for the curation report when that module is installed; at
    most `limit` collapsed hits."""
    with engine_call("search"):
        response = container.search.search(req)
    if req.q.strip() and req.offset == 0:  # a next page is not a new search
        buffer = search_log(container)
        if buffer is not None:
            buffer.record(actor.user_id if actor is not None else None, req.q, response.total)
    return to_result(response, limit=limit)


def similar_search(container: Any, req: SimilarRequest) -> SearchResult:
    """The resolved tickets most similar to a whole new call, for the API and the UI: `limit`
    different solutions, each with the tickets that share it."""
    wanted = req.limit
    req = msgspec.structs.replace(req, limit=min(MAX_SIMILAR_FETCHED, wanted * COLLAPSE_OVERFETCH))
    with engine_call("similar"):
        return to_result(container.search.similar(req), limit=wanted)


def similar_suggestions(container: Any, req: SimilarRequest) -> SearchResult | None:
    """`similar_search` for pages that work on without the suggestions: None while the engine
    is unavailable."""
    try:
        return similar_search(container, req)
    except ServiceUnavailableException:
        return None


@get("/api/search", sync_to_thread=True, tags=["search"])
def search_tickets(
    container: ContainerDep,
    actor: ActorDep,
    q: FromQuery[str] = "",
    product: FromQuery[str | None] = None,
    module: FromQuery[str | None] = None,
    type: FromQuery[str | None] = None,
    version: FromQuery[str | None] = None,
    keyword: FromQuery[str | None] = None,
    kb_link: FromQuery[str | None] = None,
    project_id: FromQuery[int | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
) -> SearchResult:
    """Resolved tickets matching a few words, typo-tolerant, best first, with facets."""
    filters = present_filters(
        product=product, module=module, type=type, version=version, keyword=keyword, kb_link=kb_link,
        project=str(project_id) if project_id is not None else None,
    )  # fmt: skip
    return knowledge_search(container, actor, q, filters, limit=limit, offset=offset)


@post("/api/search/similar", status_code=200, sync_to_thread=True, tags=["search"])
def similar_tickets(
    container: ContainerDep, actor: ActorDep, data: JSONBody[SimilarIn]
) -> SearchResult:
    """The resolved tickets most similar to a whole new call (title and text)."""
    req = SimilarRequest(
        text=data.text,
        title=data.title,
        limit=data.limit,
        filters=dict(data.filters),
        exclude_ids=data.exclude_ids,
        product=data.product,
        module=data.module,
        version=data.version,
        type=data.type,
        keywords=list(data.keywords),
    )
    return similar_search(container, req)


class StopWords(msgspec.Struct, kw_only=True):
    words: list[Annotated[str, Meta(min_length=1, max_length=MAX_STOP_WORD_CHARS)]]


class StopWordsIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    words: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=MAX_STOP_WORD_CHARS)]],
        Meta(max_length=MAX_STOP_WORDS),
    ]
    """An empty list restores the default Polish list."""


@get("/api/search/stop-words", sync_to_thread=True, tags=["search"])
def get_stop_words(container: ContainerDep, actor: ActorDep) -> StopWords:
    """Words left out of queries (kept inside a quoted phrase) and never highlighted."""
    with container.db.read() as s:
        return StopWords(words=stop_words(s))


@put("/api/search/stop-words", sync_to_thread=True, tags=["search"])
def put_stop_words(
    container: ContainerDep, actor: ActorDep, data: JSONBody[StopWordsIn]
) -> StopWords:
    """Replace the stop-word list (admin); the index picks it up through the outbox."""
    require(actor, "admin")
    with container.db.transaction() as s:
        return StopWords(words=replace_stop_words(s, data.words))


ROUTES = [search_tickets, similar_tickets, get_stop_words, put_stop_words]
