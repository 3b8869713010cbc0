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
    data_dir: Path,
    url: str | None,
    key: str | None,
    index_name: str = "tickets",
    *,
    embeddings: bool = False,
) -> SearchEngine:
    """Meilisearch when `url` is set, else the embedded engine under `data_dir/search/`.

    With `embeddings` and the model package installed, similar tickets are also re-ranked by
    title and text embeddings kept in `data_dir/search/<index>-vectors.sqlite` (`search.dense`).
    """
    engine: SearchEngine
    if url:
        from search.meili import MeiliSearchEngine

        engine = MeiliSearchEngine(url, key, index_name)
    else:
        from search.embedded import EmbeddedSearchEngine

        engine = EmbeddedSearchEngine(Path(data_dir) / "search" / index_name)
    if embeddings:
        from search.embedding import load_encoder

        encoder = load_encoder()
        if encoder is not None:
            from search.dense import DenseSimilar, TicketVectors

            vectors = TicketVectors(Path(data_dir) / "search" / f"{index_name}-vectors.sqlite")
            return DenseSimilar(engine, vectors, encoder)
    return engine
