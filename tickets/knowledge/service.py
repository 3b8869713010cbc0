"""The knowledge search use cases: as-you-type search and similar past tickets.

The API routes and the UI pages call these and only translate; an engine outage is the
domain's `Unavailable` (the API maps it to 503, a page shows it or works on without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import msgspec

from search.numbers import find_ticket_by_number, parse_number_query
from search.ports import SearchEngine, SearchRequest, SearchUnavailable, SimilarRequest
from tickets.core.instruments import Histogram
from tickets.core.runtime import Runtime
from tickets.core.schemas import Actor
from tickets.domain.errors import Unavailable, ValidationFailed
from tickets.knowledge.results import SearchResult, number_hit, to_result, with_ticket_first

FACETS = ["product", "module", "type", "version", "keyword"]
MAX_QUERY_CHARS = 500
COLLAPSE_OVERFETCH = 3
"""Similar hits asked of the engine per one shown: copies of one answer collapse into one
(after the re-rank, so here and not in the engine as for search)."""
MAX_SIMILAR_FETCHED = 50

SEARCH_LATENCY = Histogram(
    "sedno_search_latency_seconds",
    "Time spent in the search engine per request, by endpoint (this process).",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
)


class QueryLog(Protocol):
    """Where typed queries go for the curation report (`tickets.curation.search_log_buffer`)."""

    def record(self, user_id: int | None, query: str, hits: int) -> None: ...


class KnowledgeRuntime(Runtime, Protocol):
    """What the use cases need of the process: the database, the engine, the query log."""

    @property
    def search(self) -> SearchEngine: ...

    @property
    def search_log(self) -> QueryLog: ...


def present_filters(**values: str | None) -> dict[str, str]:
    """The filters a consultant set, by field (unset and empty ones dropped)."""
    return {field: value for field, value in values.items() if value}


@contextmanager
def engine_available() -> Iterator[None]:
    """An engine outage as the domain's `Unavailable("search", …)`."""
    try:
        yield
    except SearchUnavailable as exc:
        raise Unavailable("search", str(exc)) from exc


@contextmanager
def engine_call(endpoint: str) -> Iterator[None]:
    """Time a call into the engine; an outage is `Unavailable`, a filter it refuses a
    `ValidationFailed` naming it."""
    try:
        with engine_available(), SEARCH_LATENCY.time(endpoint=endpoint):
            yield
    except ValueError as exc:
        raise ValidationFailed("filters", str(exc)) from exc


def run_search(
    runtime: KnowledgeRuntime,
    req: SearchRequest,
    actor: Actor | None = None,
    *,
    limit: int | None = None,
) -> SearchResult:
    """Search, logging the query for the curation report; at most `limit` collapsed hits."""
    with engine_call("search"):
        response = runtime.search.search(req)
    if req.q.strip() and req.offset == 0:  # a next page is not a new search
        user_id = actor.user_id if actor is not None else None
        runtime.search_log.record(user_id, req.q, response.total)
    return to_result(response, limit=limit, collapsed=req.collapse)


def knowledge_search(
    runtime: KnowledgeRuntime,
    actor: Actor | None,
    q: str,
    filters: dict[str, str],
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """The search the API and the UI both run: words, filters, the standard facets, a page of
    `limit` different solutions (the engine collapses copies into each; `offset` counts
    tickets)."""
    req = SearchRequest(
        q=q[:MAX_QUERY_CHARS],
        filters=dict(filters),
        facets=list(FACETS),
        limit=limit,
        offset=offset,
        collapse=True,
    )
    result = run_search(runtime, req, actor, limit=limit)
    if offset == 0 and parse_number_query(req.q) is not None:
        with runtime.db.read() as s:
            row = find_ticket_by_number(s, req.q)
            if row is not None:
                result = with_ticket_first(result, number_hit(row))
    return result


def similar_search(runtime: KnowledgeRuntime, req: SimilarRequest) -> SearchResult:
    """The resolved tickets most similar to a whole new call, for the API and the UI: `limit`
    different solutions, each with the tickets that share it."""
    wanted = req.limit
    req = msgspec.structs.replace(req, limit=min(MAX_SIMILAR_FETCHED, wanted * COLLAPSE_OVERFETCH))
    with engine_call("similar"):
        return to_result(runtime.search.similar(req), limit=wanted)


def similar_suggestions(runtime: KnowledgeRuntime, req: SimilarRequest) -> SearchResult | None:
    """`similar_search` for pages that work on without the suggestions: None while the engine
    is unavailable."""
    try:
        return similar_search(runtime, req)
    except Unavailable:
        return None
