"""The one search interface, shaped like Meilisearch's API, and its request/response shapes.

Methods are synchronous: callers run them in worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from search.documents import TicketDocument

FILTER_FIELDS: tuple[str, ...] = (
    "product",
    "module",
    "type",
    "version",
    "keyword",
    "area",
    "kb_link",
    "verified",
    "project",
)
"""Fields a request may filter and facet on."""

SEARCHABLE_FIELDS: tuple[str, ...] = ("title", "keywords", "kb_links", "description", "solution")
SORTABLE_FIELDS: tuple[str, ...] = ("completed_at", "reuse_count")

FilterValue = str | bool | list[str] | list[bool]

DEFAULT_STOP_WORDS: tuple[str, ...] = (
    "a", "aby", "ale", "albo", "ani", "aż", "bez", "bo", "by", "był", "była", "było", "być",
    "co", "czy", "dla", "do", "gdy", "gdzie", "go", "i", "ich", "im", "jak", "jako",
    "je", "jego", "jej", "jest", "jeszcze", "już", "ku", "lub", "ma", "mi", "na", "nad",
    "nie", "niż", "o", "od", "oraz", "po", "pod", "przez", "przy", "się", "są", "ta", "tak",
    "także", "tam", "te", "tego", "tej", "ten", "to", "tu", "tym", "u", "w", "we", "więc",
    "z", "za", "ze", "że", "żeby",
)  # fmt: skip
"""Polish function words: in nearly every ticket, they say nothing about which one is meant."""


class SearchUnavailable(Exception):
    """The search engine does not answer (down, locked by another writer, misconfigured)."""


class SearchRejected(Exception):
    """The engine refused documents for good (too large, invalid): retrying cannot help."""

    def __init__(self, reason: str, ids: Sequence[int] = ()) -> None:
        super().__init__(reason)
        self.ids = list(ids)


class IndexSettings(msgspec.Struct, kw_only=True):
    """Index configuration; field order in `searchable_attributes` is their weight order."""

    searchable_attributes: list[str] = msgspec.field(
        default_factory=lambda: list(SEARCHABLE_FIELDS)
    )
    filterable_attributes: list[str] = msgspec.field(default_factory=lambda: list(FILTER_FIELDS))
    sortable_attributes: list[str] = msgspec.field(default_factory=lambda: list(SORTABLE_FIELDS))
    synonyms: dict[str, list[str]] = msgspec.field(default_factory=dict)
    """One-way like Meilisearch: list both directions for mutual synonyms."""
    stop_words: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_STOP_WORDS))
    """Left out of queries (kept inside a quoted phrase) and never highlighted."""
    typo_tolerance: bool = True
    matching_strategy: str = "frequency"
    """When too few tickets hold every word: `frequency` drops the commonest word first,
    `last` the last one, `all` none (Meilisearch's `matchingStrategy`)."""


class TaskInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A write the engine accepted; embedded writes are done when they return."""

    uid: int
    status: str = "succeeded"


class SearchRequest(msgspec.Struct, kw_only=True):
    """A consultant's query: a few words, filters, wanted facets, a page."""

    q: str = ""
    filters: dict[str, FilterValue] = msgspec.field(default_factory=dict)
    facets: list[str] = msgspec.field(default_factory=list)
    limit: int = 20
    offset: int = 0
    highlight_pre_tag: str = "<mark>"
    highlight_post_tag: str = "</mark>"
    crop_length: int = 30
    """Snippet length in words."""
    matching_strategy: str = ""
    """`frequency`, `last` or `all`; empty: the index's setting."""
    collapse: bool = False
    """Copies of one answer (`search.collapse`) come as the `copies` of the best of them, not
    as hits of their own: `limit` then counts these results, looked for among 3 × `limit`
    tickets from `offset` (which still counts tickets). Only the shown hits are highlighted
    and cropped."""


class SimilarRequest(msgspec.Struct, kw_only=True):
    """A whole new call (title and long text) to match against resolved tickets.

    The categorical fields the call has (product, module, version, type, keywords) lift the
    tickets that agree with them; unlike `filters`, they exclude nothing.
    """

    text: str
    title: str = ""
    product: str = ""
    module: str = ""
    version: str = ""
    type: str = ""
    keywords: list[str] = msgspec.field(default_factory=list)
    filters: dict[str, FilterValue] = msgspec.field(default_factory=dict)
    limit: int = 10
    exclude_ids: list[int] = msgspec.field(default_factory=list)
    highlight_pre_tag: str = "<mark>"
    highlight_post_tag: str = "</mark>"
    crop_length: int = 30


class HitCopy(msgspec.Struct, frozen=True):
    """A lower-ranked ticket whose solution is the one of the hit it was collapsed into."""

    id: int
    number: str
    title: str


class SearchHit(msgspec.Struct, kw_only=True):
    """One ticket in a result list."""

    id: int
    number: str
    title: str
    snippet: str
    title_highlighted: str
    solution: str
    keywords: list[str]
    kb_links: list[str]
    product: str
    module: str
    type: str
    version: str
    score: float
    resolution: str = ""
    """`resolved`, `rejected` (shown as such) or empty (a phone event solved on the call)."""
    text_cosine: float = 0.0
    """`similar` only: the TF-IDF cosine of the call's and this ticket's whole texts, which
    the embedding re-rank weighs again beside its own cosines. Not part of the API's hit."""
    copies: list[HitCopy] = msgspec.field(default_factory=list)
    """With `SearchRequest.collapse`: the tickets collapsed into this one, best first."""


class SearchResponse(msgspec.Struct, kw_only=True):
    """Hits best first, facet counts per field, total matches and time taken."""

    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)
    total: int = 0
    took_ms: float = 0.0


class SearchEngine(Protocol):
    """Knowledge search over resolved tickets (embedded tantivy or Meilisearch)."""

    def configure(self, settings: IndexSettings) -> TaskInfo: ...

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo: ...

    def delete(self, ids: Sequence[int]) -> TaskInfo: ...

    def delete_all(self) -> TaskInfo: ...

    def wait(self, task: TaskInfo, timeout_s: float = 60) -> None: ...

    def search(self, req: SearchRequest) -> SearchResponse: ...

    def similar(self, req: SimilarRequest) -> SearchResponse: ...

    def count(self) -> int: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def filter_values(value: FilterValue) -> list[str]:
    """A filter value as the list of strings the index holds (booleans as `true`/`false`)."""
    items: list[str | bool] = list(value) if isinstance(value, list) else [value]
    return [("true" if v else "false") if isinstance(v, bool) else str(v) for v in items]
