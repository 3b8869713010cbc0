"""Keyword dictionary routes: list, create, edit, merge, suggestions for a ticket."""

from __future__ import annotations

import msgspec
from litestar import get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from api.deps import ActorDep, ContainerDep, require
from search import keywords
from search.keywords import KeywordIn, KeywordPatch, KeywordView, Suggestion, keyword_view
from tickets.knowledge.service import engine_available


class KeywordList(msgspec.Struct):
    items: list[KeywordView]


class MergeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    into_id: int


class MergeResult(msgspec.Struct):
    keyword: KeywordView
    retagged: int


class SuggestionList(msgspec.Struct):
    items: list[Suggestion]


@get("/api/keywords", sync_to_thread=True, tags=["keywords"])
def list_keywords(
    container: ContainerDep, actor: ActorDep, q: FromQuery[str | None] = None
) -> KeywordList:
    """The dictionary, or the keywords one of whose forms contains `q`."""
    with container.db.read() as s:
        return KeywordList([keyword_view(r) for r in keywords.list_keywords(s, q)])


@post("/api/keywords", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["keywords"])
def create_keyword(
    container: ContainerDep, actor: ActorDep, data: JSONBody[KeywordIn]
) -> KeywordView:
    require(actor, "curator")
    with container.db.transaction() as s:
        return keyword_view(keywords.create_keyword(s, actor, data))


@patch("/api/keywords/{keyword_id:int}", sync_to_thread=True, tags=["keywords"])
def edit_keyword(
    container: ContainerDep,
    actor: ActorDep,
    keyword_id: FromPath[int],
    data: JSONBody[KeywordPatch],
) -> KeywordView:
    """A new preferred form (the old one stays as a synonym) and/or new synonyms."""
    require(actor, "curator")
    with container.db.transaction() as s:
        return keyword_view(keywords.update_keyword(s, actor, keyword_id, data))


@post(
    "/api/keywords/{keyword_id:int}/merge", status_code=200, sync_to_thread=True, tags=["keywords"]
)
def merge_keyword(
    container: ContainerDep, actor: ActorDep, keyword_id: FromPath[int], data: JSONBody[MergeIn]
) -> MergeResult:
    """Merge this keyword into `into_id`: tickets re-tagged, its forms become synonyms."""
    require(actor, "curator")
    with container.db.transaction() as s:
        target, retagged = keywords.merge_keywords(s, actor, keyword_id, data.into_id)
        return MergeResult(keyword_view(target), retagged)


@get("/api/keywords/suggestions/{ticket_id:int}", sync_to_thread=True, tags=["keywords"])
def suggest_keywords(
    container: ContainerDep, actor: ActorDep, ticket_id: FromPath[int]
) -> SuggestionList:
    """Keywords for a ticket from its own text and from similar resolved tickets."""
    with engine_available(), container.db.read() as s:
        return SuggestionList(keywords.suggest_keywords(s, container.search, ticket_id))


ROUTES = [list_keywords, create_keyword, edit_keyword, merge_keyword, suggest_keywords]
