"""The default search engine: tantivy, in-process, index on disk under `data_dir/search/`.

Mirrors Meilisearch's behaviour: every word must match, then words are dropped from the end;
typos by word length; prefix on the last word; folded diacritics; exact > typo > stem;
title and keywords above description and solution. The index layout lives in
`search.layout`, the queries in `search.query`.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import tantivy

from search import similar as sim
from search.analysis import QueryUnit
from search.documents import TicketDocument
from search.highlight import QueryMatcher, build_hit
from search.layout import (
    SETTINGS_FILE,
    STEM_BODY_FIELD,
    STEM_TITLE_FIELD,
    StemCache,
    open_index,
    schema,
    to_tantivy,
)
from search.layout import analyzer as _analyzer
from search.ports import (
    FILTER_FIELDS,
    SEARCHABLE_FIELDS,
    IndexSettings,
    SearchRequest,
    SearchResponse,
    SearchUnavailable,
    SimilarRequest,
    TaskInfo,
)
from search.query import QueryBuilder

__all__ = ["EmbeddedSearchEngine", "build_hit"]

T = TypeVar("T")

VERIFIED_BONUS = 0.04
REUSE_BONUS = 0.04
"""Up to this share added for reuse (log-scaled, saturating at 100 reuses)."""
WRITER_THREADS = max(1, min(4, (os.cpu_count() or 2) - 1))
"""Tantivy indexing threads; one core is left to the Python thread that builds documents."""
WRITER_HEAP = 64_000_000 * WRITER_THREADS
"""Memory per indexing thread before it writes a segment (tantivy needs 15 MB at least)."""
FACET_SIZE = 100
"""Values counted per facet, like Meilisearch's `maxValuesPerFacet` default."""
EXTRA_FETCHED = 30
"""Hits fetched beyond the page so the verified/reuse tie-break can lift some onto it."""

_BESIDE = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="sedno-search")
"""Runs facet counts beside the ranking search (tantivy releases the GIL); shared by engines."""


class EmbeddedSearchEngine:
    """`SearchEngine` on tantivy; thread-safe; one writer at a time across processes."""

    def __init__(self, index_dir: Path, *, lock_timeout_s: float = 10.0) -> None:
        self._dir = index_dir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._schema = schema()
        self._index = open_index(self._schema, self._dir)
        self._analyze = _analyzer().analyze
        self._write_lock = threading.Lock()
        self._lock_timeout_s = lock_timeout_s
        self._task_ids = itertools.count(1)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(TicketDocument)
        self._stems = StemCache()
        self._settings_path = self._dir / SETTINGS_FILE
        self._settings = IndexSettings()
        if self._settings_path.exists():
            self._settings = msgspec.json.decode(
                self._settings_path.read_bytes(), type=IndexSettings
            )
        self._queries = QueryBuilder(self._schema, self._settings, self._analyze)
        self._closed = False
        # Document frequencies and vectors of one index state (any process may commit).
        self._similar_caches = sim.SimilarCaches()

    # -- writes ---------------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        unknown = set(settings.filterable_attributes) - set(FILTER_FIELDS)
        unknown |= set(settings.searchable_attributes) - set(SEARCHABLE_FIELDS)
        if unknown:
            raise ValueError(f"unsupported attributes: {sorted(unknown)}")
        self._settings_path.write_bytes(msgspec.json.encode(settings))
        self._settings = settings
        self._queries = QueryBuilder(self._schema, settings, self._analyze)
        return self._done()

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo:
        latest = {d.id: d for d in docs}
        if not latest:
            return self._done()
        with self._writer() as writer:
            writer.delete_documents_by_query(self._queries.ids(list(latest)))
            add, encoder, stems = writer.add_document, self._encoder, self._stems
            for doc in latest.values():
                add(to_tantivy(doc, encoder, stems))
        return self._done()

    def delete(self, ids: Sequence[int]) -> TaskInfo:
        if ids:
            with self._writer() as writer:
                writer.delete_documents_by_query(self._queries.ids(list(ids)))
        return self._done()

    def delete_all(self) -> TaskInfo:
        with self._writer() as writer:
            writer.delete_all_documents()
        return self._done()

    def wait(self, task: TaskInfo, timeout_s: float = 60) -> None:
        """Embedded writes are committed before they return: nothing to wait for."""

    @contextmanager
    def _writer(self) -> Iterator[Any]:
        with self._write_lock:
            writer = self._acquire_writer()
            try:
                yield writer
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
                del writer
            self._index.reload()
            self._similar_caches.clear()

    def _acquire_writer(self) -> Any:
        deadline = time.monotonic() + self._lock_timeout_s
        delay = 0.02
        while True:
            try:
                return self._index.writer(heap_size=WRITER_HEAP, num_threads=WRITER_THREADS)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise SearchUnavailable(
                        f"search index {self._dir} is locked by another writer "
                        f"(another sedno process?) for over {self._lock_timeout_s:.0f} s"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _done(self) -> TaskInfo:
        return TaskInfo(uid=next(self._task_ids), status="succeeded")

    # -- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._index.searcher().num_docs)

    def ping(self) -> None:
        if self._closed or not self._dir.exists():
            raise SearchUnavailable(f"search index {self._dir} is closed or gone")
        try:
            self._index.searcher().num_docs  # noqa: B018 - touches the segments
        except Exception as exc:
            raise SearchUnavailable(str(exc)) from exc

    def close(self) -> None:
        self._closed = True

    def search(self, req: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        searcher = self._index.searcher()
        queries = self._queries
        filters = queries.filters(req.filters)
        _check_facets(req.facets)
        units = queries.units(req.q)
        counted = None
        if req.facets:
            # Facets need the matching documents only: the unscored query. Counted beside
            # the ranking, for all words: words are rarely dropped on a real index.
            everything = queries.matching(units, filters, n_units=len(units))
            counted = self._beside(self._facets, searcher, everything, req.facets)
        try:
            ranked, total, kept = self._rank(searcher, units, filters, req)
            ordered = self._prefer_verified_and_reused(searcher, ranked)
            page = ordered[req.offset : req.offset + req.limit] if req.limit > 0 else []
            matcher = QueryMatcher(units, typo_tolerance=self._settings.typo_tolerance)
            hits = [
                build_hit(
                    self._payload(searcher, addr),
                    score,
                    matcher,
                    req.highlight_pre_tag,
                    req.highlight_post_tag,
                    req.crop_length,
                )
                for score, addr in page
            ]
            facets: dict[str, dict[str, int]] = {}
            if counted is not None:
                facets = counted.result()
                if kept < len(units):  # words were dropped: count what the hits matched
                    facets = self._facets(
                        searcher, queries.matching(units, filters, n_units=kept), req.facets
                    )
        finally:
            if counted is not None and not counted.done():
                counted.cancel()
        return SearchResponse(
            hits=hits, facets=facets, total=total, took_ms=(time.perf_counter() - started) * 1000
        )

    def similar(self, req: SimilarRequest) -> SearchResponse:
        started = time.perf_counter()
        cache, searcher = self._similar_view()
        n_docs = searcher.num_docs
        word_df = cache.doc_freq(cache.word_df, partial(_word_doc_freq, searcher))

        def stem_doc_freq(term: str) -> int:
            return max(
                searcher.doc_freq(STEM_TITLE_FIELD, term), searcher.doc_freq(STEM_BODY_FIELD, term)
            )

        stem_df = cache.doc_freq(cache.stem_df, stem_doc_freq)

        stop_words = sim.stop_word_set(self._settings.stop_words)
        word_terms = sim.select_word_terms(
            req.title, req.text, word_df, n_docs, stop_words=stop_words
        )
        stem_terms = sim.select_stem_terms(
            req.title, req.text, stem_df, n_docs, stop_words=stop_words
        )
        query = self._queries.similar(
            word_terms, stem_terms, self._queries.filters(req.filters), req.exclude_ids
        )
        if query is None:
            return SearchResponse(hits=[], total=0, took_ms=(time.perf_counter() - started) * 1000)
        result = searcher.search(query, sim.CANDIDATES, count=True)
        docs = {}
        candidates = []
        for score, addr in result.hits:
            doc = self._payload(searcher, addr)
            docs[doc.id] = doc
            candidates.append(sim.Candidate(doc, score))
        order = sim.rerank(req, candidates, word_df, n_docs, cache.vectors, stop_words)
        order = order[: req.limit]
        matcher = QueryMatcher(
            [QueryUnit((t.term,)) for t in word_terms],
            typo_tolerance=False,
        )
        hits = [
            build_hit(
                docs[i],
                score,
                matcher,
                req.highlight_pre_tag,
                req.highlight_post_tag,
                req.crop_length,
            )
            for i, score in order
        ]
        return SearchResponse(
            hits=hits,
            total=int(result.count),  # type: ignore[attr-defined]
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def doc_freq(self, term: str) -> int:
        """Documents holding a folded word in any searchable field (approximate: the maximum)."""
        cache, searcher = self._similar_view()
        return cache.doc_freq(cache.word_df, partial(_word_doc_freq, searcher))(term)

    def _similar_view(self) -> tuple[sim.GenerationCache, tantivy.Searcher]:
        """The similar-ticket caches of the index's latest commit, and a searcher that sees
        that commit: after another process's commit the reader is reloaded first, so nothing
        of the older one is cached under the new generation."""
        generation = sim.index_generation(self._dir)
        if not self._similar_caches.serves(generation):
            self._index.reload()
        return self._similar_caches.at(generation), self._index.searcher()

    # -- ranking --------------------------------------------------------------------------

    def _rank(
        self, searcher: Any, units: list[QueryUnit], filters: list[Any], req: SearchRequest
    ) -> tuple[list[tuple[int, float, Any]], int, int]:
        """Ranked hits as (bucket, score, address), the total, and how many units matched.

        Matching strategy "last": all words first; words are dropped from the end only
        while too few documents match, and those hits rank below the ones before.
        """
        wanted = max(0, req.offset) + max(0, req.limit)
        fetch = wanted + EXTRA_FETCHED
        if not units:
            result = searcher.search(self._queries.combine([], filters), fetch, count=True)
            return [(0, score, addr) for score, addr in result.hits], int(result.count), 0
        ranked: list[tuple[int, float, Any]] = []
        seen: set[tuple[int, int]] = set()
        total = kept = 0
        for keep in range(len(units), 0, -1):
            kept = keep
            query = self._queries.ranking(units, filters, n_units=keep)
            result = searcher.search(query, fetch, count=True)
            total = int(result.count)
            for score, addr in result.hits:
                key = (addr.segment_ord, addr.doc)
                if key not in seen:
                    seen.add(key)
                    ranked.append((len(units) - keep, score, addr))
            if total >= wanted:
                break
        return ranked, total, kept

    def _prefer_verified_and_reused(
        self, searcher: Any, ranked: list[tuple[int, float, Any]]
    ) -> list[tuple[float, Any]]:
        if not ranked:
            return []
        addrs = [addr for _, _, addr in ranked]
        verified = searcher.fast_field_values("verified_n", addrs)
        reused = searcher.fast_field_values("reuse_count", addrs)
        scored = []
        for (bucket, score, addr), v, r in zip(ranked, verified, reused, strict=True):
            bonus = (
                1.0
                + VERIFIED_BONUS * (1 if v else 0)
                + REUSE_BONUS * min(1.0, math.log1p(r) / math.log1p(100))
            )
            scored.append((bucket, -score * bonus, score * bonus, addr))
        scored.sort(key=lambda x: (x[0], x[1]))
        return [(s, a) for _, _, s, a in scored]

    def _facets(self, searcher: Any, query: Any, names: Sequence[str]) -> dict[str, dict[str, int]]:
        spec = {n: {"terms": {"field": f"f_{n}", "size": FACET_SIZE}} for n in names}
        result = searcher.aggregate(query, spec)
        return {
            n: {str(b["key"]): int(b["doc_count"]) for b in result.get(n, {}).get("buckets", [])}
            for n in names
        }

    def _beside(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """`fn(*args)` on another thread; on this one when the interpreter is exiting."""
        try:
            return _BESIDE.submit(fn, *args)
        except RuntimeError:  # no new threads at interpreter shutdown
            done: Future[T] = Future()
            done.set_result(fn(*args))
            return done

    def _payload(self, searcher: Any, addr: Any) -> TicketDocument:
        stored = searcher.doc(addr)
        doc: TicketDocument = self._decoder.decode(stored["payload"][0])
        return doc


def _word_doc_freq(searcher: Any, term: str) -> int:
    """Documents holding `term` in the field that holds it most (an approximation)."""
    return max(
        int(searcher.doc_freq(f, term)) for f in ("title", "description", "solution", "keywords")
    )


def _check_facets(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in FILTER_FIELDS]
    if unknown:
        raise ValueError(f"cannot facet on {unknown}; facetable: {', '.join(FILTER_FIELDS)}")
