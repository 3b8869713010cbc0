"""The similar-ticket caches follow the index generation, whichever process committed."""

from __future__ import annotations

from pathlib import Path

import tantivy

from search.documents import TicketDocument
from search.embedded import EmbeddedSearchEngine
from search.similar import SimilarCaches, index_generation


def _commit(index: tantivy.Index, text: str) -> None:
    writer = index.writer(15_000_000, 1)
    writer.add_document(tantivy.Document(body=text))
    writer.commit()
    writer.wait_merging_threads()


def test_a_commit_by_another_writer_changes_the_generation(tmp_path: Path) -> None:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=True)
    schema = builder.build()
    writer_side = tantivy.Index(schema, path=str(tmp_path))  # e.g. the outbox worker
    _commit(writer_side, "pierwszy")
    reader_side = tantivy.Index(schema, path=str(tmp_path))  # e.g. an API replica
    seen = index_generation(tmp_path)

    assert index_generation(tmp_path) == seen  # nothing happened: the same generation
    _commit(writer_side, "drugi")

    assert index_generation(tmp_path) != seen  # the reader side notices without reloading
    assert reader_side.searcher().num_docs in (1, 2)


def test_no_index_yet_has_a_generation_too(tmp_path: Path) -> None:
    assert index_generation(tmp_path) is None


def test_caches_live_for_one_generation() -> None:
    caches = SimilarCaches()
    calls: list[str] = []

    def df(term: str) -> int:
        calls.append(term)
        return 7

    first = caches.at((1, 1, 1))
    word_df = first.doc_freq(first.word_df, df)
    assert word_df("faktura") == 7 and word_df("faktura") == 7
    first.vectors[5] = ({"faktura": 1.0}, {})
    assert calls == ["faktura"]  # computed once for the generation
    assert caches.at((1, 1, 1)) is first

    second = caches.at((1, 1, 2))
    assert second is not first and not second.word_df and not second.vectors
    second.doc_freq(second.word_df, df)("faktura")
    assert calls == ["faktura", "faktura"]  # recomputed after a commit

    caches.clear()
    assert caches.at((1, 1, 2)) is not second  # this process's own write retires them too


def test_an_engine_sees_another_engines_commit_in_its_frequencies_at_once(tmp_path: Path) -> None:
    """Two processes on one index (here two engines): the reader's cached frequencies follow
    the writer's commit at once, never the older commit cached under the newer generation."""
    reader = EmbeddedSearchEngine(tmp_path / "index")
    writer = EmbeddedSearchEngine(tmp_path / "index")

    def doc(id: int) -> TicketDocument:
        return TicketDocument(id=id, number=f"ZS/2026/{id}", title="Zamknięcie okresu kwarantanna")

    writer.wait(writer.upsert([doc(1)]))
    assert reader.doc_freq("kwarantanna") == 1
    for id in range(2, 5):
        writer.wait(writer.upsert([doc(id)]))
        assert reader.doc_freq("kwarantanna") == id
    reader.close()
    writer.close()
