"""Similar tickets re-ranked with sentence embeddings, for either engine (optional).

`DenseSimilar` wraps a `SearchEngine`. Writes go to the engine as before and, after it, the
new or changed tickets are queued for a background thread that embeds each ticket's title and
its "title. description" (`search.embedding`) into a `TicketVectors` file; indexing itself does
no model work, so its speed is unchanged. `similar` asks the engine for its lexically reranked
candidates and adds two cosines: score / best score + `TITLE_WEIGHT` · cos(call, title) +
`TEXT_WEIGHT` · cos(call's title and text, ticket's title and description), and weighs the
lexical rerank's own TF-IDF cosine once more (`LEXICAL_COSINE_WEIGHT`). The call's side of
the title cosine is the mean of its title's vector and its title and text's. Calls with Polish
letters are left to the lexical ranking, as the model (all-MiniLM-L6-v2) is English.

On dupbugs-dev (Eclipse) this lifts nDCG@10 from 0.652 to 0.702 (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import msgspec
import numpy as np

from search.documents import TicketDocument
from search.embedding import DIMENSIONS, MiniLMEncoder, Vector
from search.ports import (
    IndexSettings,
    SearchEngine,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
    TaskInfo,
)

TITLE_WEIGHT = 0.5
"""Weight of the title cosine beside the lexical score (scaled to the best candidate's 1);
chosen on half A of dupbugs-dev, with `TEXT_WEIGHT`, `QUERY_TEXT_SHARE` and `RERANKED`."""
TEXT_WEIGHT = 2.0
"""Weight of the cosine of the call's title and text to the ticket's title and description."""
LEXICAL_COSINE_WEIGHT = 1.5
"""Weight of the lexical rerank's whole-text TF-IDF cosine (`SearchHit.text_cosine`), added
again beside the embeddings' cosines: rare words the model blurs (class names, error codes,
file names) then count as much as the meaning. Chosen on half A of dupbugs-dev (0–3 in steps
of 0.5; the other weights unchanged)."""
QUERY_TEXT_SHARE = 0.5
"""Share of the call's title-and-text vector in its side of the title cosine (the rest: its
title's)."""
STORED_TEXT_TOKENS = 96
"""Word pieces of a stored ticket's title and description that its text vector reads (the
call's side reads the model's 256): cheaper, and on half A better than 256 or 128."""
RERANKED = 100
"""Candidates the engine reranks and returns for the dense rerank."""
POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
BATCH = 64
"""Tickets embedded per background step (and per commit to the vector file)."""

VectorKind = Literal["title", "text"]
_COLUMNS: dict[VectorKind, str] = {"title": "vector", "text": "text_vector"}


def looks_polish(*texts: str) -> bool:
    """Whether a call or a ticket carries Polish letters (then the English model is not
    asked)."""
    return any(not POLISH_LETTERS.isdisjoint(t) for t in texts)


def embedded_text(title: str, text: str) -> str:
    """What the text vector is computed from, on the call's side and the ticket's alike."""
    return f"{title}. {text}" if text.strip() else title


def vector_key(title: str, description: str) -> str:
    """What a ticket's stored vectors were computed from (a change needs new ones)."""
    digest = hashlib.blake2b(f"{title}\x1f{description}".encode(), digest_size=8)
    return digest.hexdigest()


class TicketVectors:
    """Title and title-and-description embeddings by ticket id in a SQLite file (float32
    blobs); thread-safe.

    A file written before text vectors existed gains the column on opening; its rows keep their
    title vectors, and their keys (of the title alone) no longer match, so the next upsert of
    each ticket (or `sedno reindex`) embeds it again, text included.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS title_vector (id INTEGER PRIMARY KEY,"
            " title_key TEXT NOT NULL, vector BLOB NOT NULL, text_vector BLOB)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(title_vector)")}
        if "text_vector" not in columns:
            self._db.execute("ALTER TABLE title_vector ADD COLUMN text_vector BLOB")
        self._lock = threading.Lock()
        self._closed = False

    def keys(self, ids: Sequence[int]) -> dict[int, str]:
        """The keys (`vector_key`) stored for `ids`."""
        return dict(self._select("title_key", ids))

    def vectors(self, ids: Sequence[int], kind: VectorKind = "title") -> dict[int, Vector]:
        """The stored vectors of `ids` of one kind (missing ones are left out)."""
        return {
            i: np.frombuffer(b, dtype=np.float32)
            for i, b in self._select(_COLUMNS[kind], ids)
            if b is not None
        }

    def _select(self, column: str, ids: Sequence[int]) -> list[tuple[int, Any]]:
        rows: list[tuple[int, Any]] = []
        with self._lock:
            if self._closed:
                return rows
            for start in range(0, len(ids), 500):
                chunk = [int(i) for i in ids[start : start + 500]]
                marks = ",".join("?" * len(chunk))
                rows += self._db.execute(
                    f"SELECT id, {column} FROM title_vector WHERE id IN ({marks})", chunk
                ).fetchall()
        return rows

    def put(self, rows: Sequence[tuple[int, str, Vector, Vector]]) -> None:
        """Store (id, key, title vector, text vector) rows; after `close` (the engine shut down
        mid-batch) nothing is written."""
        with self._lock:
            if self._closed:
                return
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO title_vector (id, title_key, vector, text_vector)"
                " VALUES (?, ?, ?, ?)",
                [
                    (
                        int(i),
                        key,
                        title.astype(np.float32).tobytes(),
                        text.astype(np.float32).tobytes(),
                    )
                    for i, key, title, text in rows
                ],
            )
            self._db.execute("COMMIT")

    def delete(self, ids: Sequence[int]) -> None:
        with self._lock:
            if self._closed:
                return
            self._db.executemany("DELETE FROM title_vector WHERE id = ?", [(int(i),) for i in ids])

    def delete_all(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM title_vector")

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM title_vector").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()


class DenseSimilar:
    """A `SearchEngine` whose `similar` adds the embeddings' cosines to the ranking."""

    def __init__(
        self, engine: SearchEngine, vectors: TicketVectors, encoder: MiniLMEncoder
    ) -> None:
        self.engine = engine
        self.vectors = vectors
        self._encoder = encoder
        self._pending: queue.Queue[list[TicketDocument] | None] = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._closing = threading.Event()
        self._worker = threading.Thread(target=self._embed_pending, daemon=True)
        self._worker.start()
        self._query_vector = lru_cache(maxsize=256)(self._embed_call)

    # -- writes: the engine first, then the vectors in the background ---------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        return self.engine.configure(settings)

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo:
        task = self.engine.upsert(docs)
        if docs:
            self._idle.clear()
            self._pending.put(list(docs))
        return task

    def delete(self, ids: Sequence[int]) -> TaskInfo:
        task = self.engine.delete(ids)
        self.vectors.delete(ids)
        return task

    def delete_all(self) -> TaskInfo:
        task = self.engine.delete_all()
        self.vectors.delete_all()
        return task

    def wait(self, task: TaskInfo, timeout_s: float = 60) -> None:
        self.engine.wait(task, timeout_s)

    def wait_for_vectors(self, timeout_s: float | None = None) -> bool:
        """Block until every queued ticket is embedded; False on timeout."""
        return self._idle.wait(timeout_s)

    def _embed_pending(self) -> None:
        while True:
            batch = self._pending.get()
            if batch is None:
                return
            try:
                self._embed_docs(batch)
            finally:
                if self._pending.empty():
                    self._idle.set()

    def _embed_docs(self, docs: Sequence[TicketDocument]) -> None:
        latest = {d.id: d for d in docs}
        stored = self.vectors.keys(list(latest))
        # The model is English: a Polish ticket gets no vectors (as a Polish call asks no
        # model), so an English call's re-rank gives it the median cosine, neither lifted nor
        # pushed, and the desk's Polish tickets cost no model time.
        polish = {d.id for d in latest.values() if looks_polish(d.title, d.description)}
        if stale := [i for i in polish if i in stored]:
            self.vectors.delete(stale)
        todo = [
            (d.id, key, d.title, embedded_text(d.title, d.description))
            for d in latest.values()
            if d.id not in polish
            and stored.get(d.id) != (key := vector_key(d.title, d.description))
        ]
        for start in range(0, len(todo), BATCH):
            if self._closing.is_set():
                return
            chunk = todo[start : start + BATCH]
            titles = self._encoder.encode([title for _, _, title, _ in chunk])
            # Separate runs: in one batch a short title would be padded to the texts' length.
            texts = self._encoder.encode([text for _, _, _, text in chunk], STORED_TEXT_TOKENS)
            self.vectors.put(
                [
                    (i, key, title, text)
                    for (i, key, _, _), title, text in zip(chunk, titles, texts, strict=True)
                ]
            )

    # -- reads ----------------------------------------------------------------------------

    def search(self, req: SearchRequest) -> SearchResponse:
        return self.engine.search(req)

    def similar(self, req: SimilarRequest) -> SearchResponse:
        if not req.title.strip() or looks_polish(req.title, req.text):
            return self.engine.similar(req)
        wider = msgspec.structs.replace(req, limit=max(req.limit, RERANKED))
        response = self.engine.similar(wider)
        hits = response.hits
        if not hits:
            return self.engine.similar(req) if req.limit != wider.limit else response
        ids = [h.id for h in hits]
        call_title, call_text = self._query_vector(req.title, req.text)
        titles = _cosines(self.vectors.vectors(ids, "title"), call_title)
        texts = _cosines(self.vectors.vectors(ids, "text"), call_text)
        top = max(h.score for h in hits) or 1.0
        fused = [
            (
                h.score / top
                + TITLE_WEIGHT * titles.get(h.id)
                + TEXT_WEIGHT * texts.get(h.id)
                + LEXICAL_COSINE_WEIGHT * h.text_cosine,
                n,
                h,
            )
            for n, h in enumerate(hits)
        ]
        fused.sort(key=lambda x: (-x[0], x[1]))
        ranked = [msgspec.structs.replace(h, score=s) for s, _, h in fused[: req.limit]]
        return msgspec.structs.replace(response, hits=ranked)

    def _embed_call(self, title: str, text: str) -> tuple[Vector, Vector]:
        """The call's side of the title cosine (its title's vector blended with its title and
        text's, which carry what the title leaves out) and of the text cosine."""
        title_vec: Vector = self._encoder.encode([title])[0]
        if not text.strip():
            return title_vec, title_vec
        # Two runs: in one batch the short title would be padded to the text's length.
        text_vec: Vector = self._encoder.encode([embedded_text(title, text)])[0]
        blended: Vector = (1.0 - QUERY_TEXT_SHARE) * title_vec + QUERY_TEXT_SHARE * text_vec
        return blended, text_vec

    def count(self) -> int:
        return self.engine.count()

    def ping(self) -> None:
        self.engine.ping()

    def close(self) -> None:
        self._closing.set()
        self._pending.put(None)
        self._worker.join(timeout=10)  # at most one batch in flight
        self.engine.close()
        self.vectors.close()

    def __getattr__(self, name: str) -> Any:
        # What the engines offer beyond the protocol (doc_freq, stop-word checks…).
        return getattr(self.engine, name)


class _Cosines:
    """Cosines of the candidates that have a stored vector; the others get the median, so a
    ticket not embedded yet (or embedded before text vectors) is neither lifted nor pushed."""

    def __init__(self, cosines: dict[int, float]) -> None:
        self._cosines = cosines
        self._neutral = float(np.median(list(cosines.values()))) if cosines else 0.0

    def get(self, ticket_id: int) -> float:
        return self._cosines.get(ticket_id, self._neutral)


def _cosines(stored: dict[int, Vector], query: Vector) -> _Cosines:
    return _Cosines({i: float(v @ query) for i, v in stored.items() if v.shape == (DIMENSIONS,)})
