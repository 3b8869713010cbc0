"""Knowledge search over resolved tickets: one interface, an embedded and a Meilisearch engine."""

from __future__ import annotations

from pathlib import Path

from search.documents import TicketDocument
from search.ports import (
    IndexSettings,
    SearchEngine,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SearchUnavailable,
    SimilarRequest,
    TaskInfo,
)

__all__ = [
    "IndexSettings",
    "SearchEngine",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SearchUnavailable",
    "SimilarRequest",
    "TaskInfo",
    "TicketDocument",
    "open_engine",
]


def open_engine(
    data_dir: Path, url: str | None, key: str | None, index_name: str = "tickets"
) -> SearchEngine:
    """Meilisearch when `url` is set, else the embedded engine under `data_dir/search/`."""
    if url:
        from search.meili import MeiliSearchEngine

        return MeiliSearchEngine(url, key, index_name)
    from search.embedded import EmbeddedSearchEngine

    return EmbeddedSearchEngine(Path(data_dir) / "search" / index_name)
