"""An index written in an older layout (a field more or less) is emptied on opening, its
settings kept; the desk then refills it from the database (`search.sync.repopulate_if_empty`)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import tantivy

from search.documents import TicketDocument
from search.embedded import EmbeddedSearchEngine
from search.layout import SETTINGS_FILE
from search.ports import IndexSettings, SearchRequest


def _older_index(path: Path) -> None:
    # The layout before session s25 had a combined field "all" beside the typo field.
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("all", index_option="basic")
    index = tantivy.Index(builder.build(), path=str(path))
    writer = index.writer(15_000_000, 1)
    doc = tantivy.Document(all="faktura korygująca")
    doc.add_unsigned("id", 7)
    writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()


def test_an_index_in_an_older_layout_is_emptied_and_takes_new_tickets(tmp_path: Path) -> None:
    _older_index(tmp_path)
    settings = msgspec.json.encode(IndexSettings(stop_words=["się"]))
    (tmp_path / SETTINGS_FILE).write_bytes(settings)

    engine = EmbeddedSearchEngine(tmp_path)
    try:
        assert engine.count() == 0
        assert (tmp_path / SETTINGS_FILE).read_bytes() == settings
        engine.upsert([TicketDocument(id=8, number="ZS/2026/8", title="Faktura korygująca")])
        assert [h.id for h in engine.search(SearchRequest(q="faktura koryg")).hits] == [8]
        assert [h.id for h in engine.search(SearchRequest(q="fatkura")).hits] == [8]
    finally:
        engine.close()
