"""Similar tickets re-ranked with title embeddings, for either engine (optional).

`DenseSimilar` wraps a `SearchEngine`. Writes go to the engine as before and, after it, the
new or changed titles are queued for a background thread that embeds them
(`search.embedding`) into a `TitleVectors` file; indexing itself does no model work, so its
speed is unchanged. `similar` asks the engine for its lexically reranked candidates and adds
the cosine of the call's title to each candidate's title: score / best score +
`DENSE_WEIGHT` · cosine. The call's side is the mean of its title's vector and its title and
text's (cut at the model's 256 pieces): one model run per call, none per stored ticket. Calls
with Polish letters are left to the lexical ranking, as the model (all-MiniLM-L6-v2) is English.

On dupbugs-dev (Eclipse) this lifts nDCG@10 from 0.652 to 0.681 (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from search.documents import TicketDocument
from search.embedding import DIMENSIONS, MiniLMEncoder
from search.ports import (
    IndexSettings,
    SearchEngine,
    SearchRequest,
    SearchResponse,
    SimilarRequest,
    TaskInfo,
)

DENSE_WEIGHT = 1.0
"""Weight of the cosine beside the lexical score (scaled to the best candidate's 1); chosen on
half A of dupbugs-dev, with `QUERY_TEXT_SHARE` and `RERANKED`."""
QUERY_TEXT_SHARE = 0.5
"""Share of the call's title-and-text vector in its query vector (the rest: its title's)."""
RERANKED = 100
"""Candidates the engine reranks and returns for the dense rerank."""
POLISH_LETTERS = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")
BATCH = 64
"""Titles embedded per background step (and per commit to the vector file)."""


def looks_polish(*texts: str) -> bool:
    """Whether a call carries Polish letters (then the English model is not asked)."""
    return any(not POLISH_LETTERS.isdisjoint(t) for t in texts)


def title_key(title: str) -> str:
    """What a stored vector was computed from (a changed title needs a new one)."""
    return hashlib.blake2b(title.encode(), digest_size=8).hexdigest()


class TitleVectors:
    """Title embeddings by ticket id in a SQLite file (float32 blobs); thread-safe."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS title_vector"
            " (id INTEGER PRIMARY KEY, title_key TEXT NOT NULL, vector BLOB NOT NULL)"
        )
        self._lock = threading.Lock()
        self._closed = False

    def keys(self, ids: Sequence[int]) -> dict[int, str]:
        """The title keys stored for `ids`."""
        return dict(self._select("title_key", ids))

    def vectors(self, ids: Sequence[int]) -> dict[int, npt.NDArray[np.float32]]:
        """The stored vectors of `ids` (missing ids are left out)."""
        return {i: np.frombuffer(b, dtype=np.float32) for i, b in self._select("vector", ids)}

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

    def put(self, rows: Sequence[tuple[int, str, npt.NDArray[np.float32]]]) -> None:
        """Store vectors; after `close` (the engine shut down mid-batch) nothing is written."""
        with self._lock:
            if self._closed:
                return
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO title_vector (id, title_key, vector) VALUES (?, ?, ?)",
                [(int(i), key, vec.astype(np.float32).tobytes()) for i, key, vec in rows],
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
    """A `SearchEngine` whose `similar` adds the title embeddings' cosine to the ranking."""

    def __init__(self, engine: SearchEngine, vectors: TitleVectors, encoder: MiniLMEncoder) -> None:
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
        """Block until every queued title is embedded; False on timeout."""
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
        todo = [
            (d.id, title_key(d.title), d.title)
            for d in latest.values()
            if stored.get(d.id) != title_key(d.title)
        ]
        for start in range(0, len(todo), BATCH):
            if self._closing.is_set():
                return
            chunk = todo[start : start + BATCH]
            encoded = self._encoder.encode([t for _, _, t in chunk])
            self.vectors.put([(i, k, v) for (i, k, _), v in zip(chunk, encoded, strict=True)])

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
        stored = self.vectors.vectors([h.id for h in hits])
        query = self._query_vector(req.title, req.text)
        cosines = {i: float(v @ query) for i, v in stored.items() if v.shape == (DIMENSIONS,)}
        # A ticket whose title is not embedded yet is neither lifted nor pushed down.
        neutral = float(np.median(list(cosines.values()))) if cosines else 0.0
        top = max(h.score for h in hits) or 1.0
        fused = [
            (h.score / top + DENSE_WEIGHT * cosines.get(h.id, neutral), n, h)
            for n, h in enumerate(hits)
        ]
        fused.sort(key=lambda x: (-x[0], x[1]))
        ranked = [msgspec.structs.replace(h, score=s) for s, _, h in fused[: req.limit]]
        return msgspec.structs.replace(response, hits=ranked)

    def _embed_call(self, title: str, text: str) -> npt.NDArray[np.float32]:
        """The call's query vector: its title's, blended with its title and text's, which
        carry what the title leaves out (stored tickets keep title vectors only)."""
        title_vec: npt.NDArray[np.float32] = self._encoder.encode([title])[0]
        if not text.strip():
            return title_vec
        # Two runs: in one batch the short title would be padded to the text's length.
        text_vec = self._encoder.encode([f"{title}. {text}"])[0]
        vector: npt.NDArray[np.float32] = (
            1.0 - QUERY_TEXT_SHARE
        ) * title_vec + QUERY_TEXT_SHARE * text_vec
        return vector

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
