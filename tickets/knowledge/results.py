"""What a knowledge search answers: hits with copies of one solution collapsed into the best."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import msgspec

from search.collapse import collapse
from search.ports import SearchHit, SearchResponse
from tickets.core import examples as ex


class SameSolution(msgspec.Struct):
    """A ticket whose solution is the one of the hit it was collapsed into."""

    ticket_id: int
    number: ex.TicketNumber
    title: ex.TicketTitle


class Hit(msgspec.Struct, kw_only=True):
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


def engine_hit(hit: SearchHit, copies: Sequence[SearchHit] = ()) -> Hit:
    """The engine's hit as the API shows it: `id` is `ticket_id`, its copies listed."""
    fields = msgspec.structs.asdict(hit)
    fields["ticket_id"] = fields.pop("id")
    del fields["text_cosine"]  # the similar re-rank's, not the consultant's
    collapsed = fields.pop("copies")  # by the engine (`SearchRequest.collapse`)
    same = [SameSolution(c.id, c.number, c.title) for c in collapsed]
    same += [SameSolution(c.id, c.number, c.title) for c in copies]
    return Hit(**fields, same_solution=same)


def to_result(
    response: SearchResponse, *, limit: int | None = None, collapsed: bool = False
) -> SearchResult:
    """The engine's hits with the same solution collapsed into the best of them, unless the
    engine did (`collapsed`: each hit carries its copies); at most `limit` of those (all
    when None)."""
    if collapsed:
        groups = [[h] for h in response.hits[:limit]]
    else:
        groups = collapse(response.hits, lambda h: h.solution)[:limit]
    return SearchResult(
        hits=[engine_hit(h, copies) for h, *copies in groups],
        facets=response.facets,
        total=response.total,
        took_ms=response.took_ms,
    )


def number_hit(row: Any) -> Hit:
    """A ticket found by its number, as a hit (any state: it may have no solution yet)."""
    return Hit(
        ticket_id=row.id,
        number=row.number,
        title=row.title,
        title_highlighted=html.escape(row.title),
        snippet=html.escape((row.description or "")[:300]),
        solution=row.solution or "",
        keywords=list(row.keywords or []),
        kb_links=list(row.kb_links or []),
        product=row.product or "",
        module=row.module or "",
        type=row.type or "",
        version=row.version or "",
        score=0.0,
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
