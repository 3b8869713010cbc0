"""Search queries for the curation report, written off the request path.

As-you-type search sends a query per keystroke; writing each one would put a database write
(and on SQLite the write lock) on every keystroke of every consultant. The buffer keeps the
latest query per user while they type and writes only the one they settled on, from a
background thread, a few seconds later.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

import msgspec

from tickets.core.db import Database, utcnow

log = logging.getLogger("sedno.search")

SETTLE_S = 5.0
FLUSH_EVERY_S = 2.0

Writer = Callable[[Database, list[tuple[int | None, str, int, dt.datetime]]], None]
"""Writes a batch of settled queries (user id, query, hits, when) in one transaction."""


class _Entry(msgspec.Struct):
    user_id: int | None
    query: str
    hits: int
    at: dt.datetime


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


class SearchLogBuffer:
    """Per-user latest query; settled queries go to `writer` in the background."""

    def __init__(self, db: Database, writer: Writer, *, settle_s: float = SETTLE_S) -> None:
        self.db = db
        self.writer = writer
        self.settle_s = settle_s
        self._pending: dict[int | None, _Entry] = {}
        self._ready: list[_Entry] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def record(self, user_id: int | None, query: str, hits: int) -> None:
        entry = _Entry(user_id, query, hits, utcnow())
        with self._lock:
            last = self._pending.get(user_id)
            if last is not None:
                a, b = _norm(last.query), _norm(query)
                typing_on = (entry.at - last.at).total_seconds() <= self.settle_s and (
                    a.startswith(b) or b.startswith(a)
                )
                if not typing_on:
                    self._ready.append(last)
            self._pending[user_id] = entry
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sedno-search-log", daemon=True
                )
                self._thread.start()

    def flush(self, *, everything: bool = False) -> int:
        """Write what has settled (or all, e.g. before a report or at shutdown)."""
        now = utcnow()
        with self._lock:
            batch, self._ready = self._ready, []
            for user_id, entry in list(self._pending.items()):
                if everything or (now - entry.at).total_seconds() > self.settle_s:
                    batch.append(entry)
                    del self._pending[user_id]
        if batch:
            batch.sort(key=lambda e: e.at)
            try:
                self.writer(self.db, [(e.user_id, e.query, e.hits, e.at) for e in batch])
            except Exception:  # a lost log line must never fail a search
                log.warning("search log write of %d queries failed", len(batch), exc_info=True)
        return len(batch)

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY_S):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self.flush(everything=True)
