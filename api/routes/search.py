"""Knowledge search routes: as-you-type search and similar past tickets."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post, put
from litestar.params import FromQuery, JSONBody, QueryParameter
from msgspec import Meta

from api.deps import ActorDep, ContainerDep, require
from search.ports import SimilarRequest
from search.stopwords import (
    MAX_STOP_WORD_CHARS,
    MAX_STOP_WORDS,
    replace_stop_words,
    stop_words,
)
from tickets.knowledge.results import SearchResult
from tickets.knowledge.service import knowledge_search, present_filters, similar_search


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
