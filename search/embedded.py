"""The default search engine: tantivy, in-process, index on disk under `data_dir/search/`.

Mirrors Meilisearch's behaviour: every word must match, then words are dropped as the
matching strategy says (`frequency`: the commonest first); typos by word length; prefix on
the last word; folded diacritics, Polish lemmas. Tantivy finds the candidates of each words
bucket, `search.ranking` orders them by Meilisearch's rules. The index layout lives in
`search.layout`, the queries in `search.query`.
"""

from __future__ import annotations

import itertools
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
from search.analysis import QueryUnit, diacritic_spellings, lemmas
from search.collapse import page
from search.documents import TicketDocument
from search.highlight import QueryMatcher, build_hit
from search.layout import (
    SETTINGS_FILE,
    SPELLING_FIELD,
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
from search.ranking import RuleMatcher, has_phrase, rule_key

__all__ = ["EmbeddedSearchEngine", "build_hit"]

T = TypeVar("T")

WRITER_THREADS = max(1, min(4, (os.cpu_count() or 2) - 1))
"""Tantivy indexing threads; one core is left to the Python thread that builds documents."""
WRITER_HEAP = 64_000_000 * WRITER_THREADS
"""Memory per indexing thread before it writes a segment (tantivy needs 15 MB at least)."""
FACET_SIZE = 100
"""Values counted per facet, like Meilisearch's `maxValuesPerFacet` default."""
EXTRA_FETCHED = 30
"""Hits fetched beyond the page so the ranking rules can lift some onto it."""
RANK_CANDIDATES = 100
"""Candidates per words bucket that the ranking rules order (by tantivy's score, plus as many
whose title holds every word)."""
MATCHING_STRATEGIES = ("frequency", "last", "all")

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
        self._spellings: tuple[object, dict[str, tuple[str, ...]]] = (None, {})

    # -- writes ---------------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        unknown = set(settings.filterable_attributes) - set(FILTER_FIELDS)
        unknown |= set(settings.searchable_attributes) - set(SEARCHABLE_FIELDS)
        if unknown:
            raise ValueError(f"unsupported attributes: {sorted(unknown)}")
        if settings.matching_strategy not in MATCHING_STRATEGIES:
            raise ValueError(f"matching_strategy must be one of {', '.join(MATCHING_STRATEGIES)}")
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
        strategy = req.matching_strategy or self._settings.matching_strategy
        if strategy not in MATCHING_STRATEGIES:
            raise ValueError(f"matching_strategy must be one of {', '.join(MATCHING_STRATEGIES)}")
        units = queries.units(req.q)
        lemma_sets = [self._unit_lemmas(searcher, u) for u in units]
        everyone = list(range(len(units)))
        counted = None
        if req.facets:
            # Facets need the matching documents only: the unscored query. Counted beside
            # the ranking, for all words: words are rarely dropped on a real index.
            everything = queries.matching(units, lemma_sets, filters, everyone)
            counted = self._beside(self._facets, searcher, everything, req.facets)
        try:
            ranked, total, kept = self._rank(searcher, units, lemma_sets, filters, req, strategy)
            matcher = QueryMatcher(
                units, typo_tolerance=self._settings.typo_tolerance, stop_words=queries.stop_words
            )
            hits = [
                build_hit(doc, score, matcher, req, copies=[c for c, _ in rest])
                for (doc, score), *rest in _page(ranked, req)
            ]
            facets: dict[str, dict[str, int]] = {}
            if counted is not None:
                facets = counted.result()
                if kept != everyone:  # words were dropped: count what the hits matched
                    facets = self._facets(
                        searcher, queries.matching(units, lemma_sets, filters, kept), req.facets
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
        result = searcher.search(query, sim.candidate_count(req.limit), count=True)
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
            stop_words=self._queries.stop_words,
        )
        hits = [build_hit(docs[r.id], r.score, matcher, req, r.text_cosine) for r in order]
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
        self,
        searcher: Any,
        units: list[QueryUnit],
        lemma_sets: list[tuple[str, ...]],
        filters: list[Any],
        req: SearchRequest,
        strategy: str,
    ) -> tuple[list[tuple[TicketDocument, float]], int, list[int]]:
        """Ranked (document, score) pairs, the total, and the units the last bucket kept.

        Words rule: all units first; while too few documents match, the matching strategy
        drops units and those hits rank below the ones before. Inside a bucket the other
        rules decide (`search.ranking`).
        """
        wanted = max(0, req.offset) + max(0, req.limit)
        fetch = max(wanted + EXTRA_FETCHED, RANK_CANDIDATES)
        if not units:
            result = searcher.search(self._queries.combine([], filters), fetch, count=True)
            docs = [(self._payload(searcher, addr), score) for score, addr in result.hits]
            docs.sort(key=lambda d: (not d[0].verified, -d[0].reuse_count, -d[1]))
            return docs, int(result.count), []
        queries = self._queries
        attributes = self._settings.searchable_attributes
        matcher = RuleMatcher(
            units, [frozenset(ls) for ls in lemma_sets], self._settings.typo_tolerance
        )
        phrases = [u.words for u in units if u.phrase]
        ranked: list[tuple[TicketDocument, float]] = []
        seen: set[int] = set()
        read: set[tuple[int, int]] = set()
        total = 0
        keep: list[int] = []
        for keep in self._buckets(searcher, units, lemma_sets, filters, strategy):
            in_title = queries.in_top_field(units, lemma_sets, filters, keep)
            # Both searches spend most of their time in tantivy, without the GIL: side by side.
            titled = None if in_title is None else self._beside(_top, searcher, in_title)
            result = searcher.search(
                queries.ranking(units, lemma_sets, filters, keep), fetch, count=True
            )
            total = int(result.count)
            hits = list(result.hits)
            if titled is not None:
                hits.extend(titled.result())
            bucket: list[tuple[tuple[Any, ...], TicketDocument, float]] = []
            for score, addr in hits:
                where = (addr.segment_ord, addr.doc)
                if where in read:  # found by both searches, or by a bucket before
                    continue
                read.add(where)
                doc = self._payload(searcher, addr)
                if doc.id in seen:
                    continue
                seen.add(doc.id)
                if phrases and not all(has_phrase(doc, p, attributes) for p in phrases):
                    continue
                key = (*rule_key(doc, matcher, attributes), not doc.verified, -doc.reuse_count)
                bucket.append(((*key, -score), doc, score))
            bucket.sort(key=lambda b: b[0])
            ranked.extend((doc, score) for _, doc, score in bucket)
            if total >= wanted:  # with `collapse`, copies may leave a page short: so be it
                break
        return ranked, total, keep

    def _buckets(
        self,
        searcher: Any,
        units: list[QueryUnit],
        lemma_sets: list[tuple[str, ...]],
        filters: list[Any],
        strategy: str,
    ) -> Iterator[list[int]]:
        """The units each words bucket keeps, most first (Meilisearch's matching strategies).

        `frequency` drops the unit that matches the most documents first (after any that
        match none: they can only empty the result); `last` drops from the end.
        """
        everyone = list(range(len(units)))
        yield everyone
        if strategy == "all" or len(units) == 1:
            return
        if strategy == "last":
            order = everyone[::-1]
        else:
            frequency = self._queries.unit_frequency
            counts = [frequency(searcher, units, lemma_sets, i, filters) for i in everyone]
            order = sorted(everyone, key=lambda i: (counts[i] > 0, -counts[i]))
        kept = set(everyone)
        for dropped in order[:-1]:
            kept.discard(dropped)
            yield sorted(kept)

    def _unit_lemmas(self, searcher: Any, unit: QueryUnit) -> tuple[str, ...]:
        """The lemmas a one-word unit matches by; a word typed without diacritics takes those
        of the spellings the index has seen (`placach` → `płacach` → płaca, not plac)."""
        if unit.phrase or len(unit.words) != 1:
            return ()
        raw = unit.raw[0] if unit.raw else unit.words[0]
        if not raw.isascii() or len(raw) <= 2:
            return lemmas(raw)
        spellings = self._seen_spellings(searcher, raw)
        if not spellings:
            return lemmas(raw)
        return tuple(dict.fromkeys(lemma for s in spellings for lemma in lemmas(s)))

    def _seen_spellings(self, searcher: Any, folded: str) -> tuple[str, ...]:
        generation = sim.index_generation(self._dir)
        if self._spellings[0] != generation:
            self._spellings = (generation, {})
        cache = self._spellings[1]
        found = cache.get(folded)
        if found is None:
            found = cache[folded] = tuple(
                s for s in diacritic_spellings(folded) if searcher.doc_freq(SPELLING_FIELD, s)
            )
        return found

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


def _top(searcher: Any, query: Any) -> list[tuple[float, Any]]:
    """The best `RANK_CANDIDATES` (score, address) pairs of `query`."""
    return list(searcher.search(query, RANK_CANDIDATES).hits)


def _word_doc_freq(searcher: Any, term: str) -> int:
    """Documents holding `term` in the field that holds it most (an approximation)."""
    return max(
        int(searcher.doc_freq(f, term)) for f in ("title", "description", "solution", "keywords")
    )


def _page(
    ranked: Sequence[tuple[TicketDocument, float]], req: SearchRequest
) -> list[list[tuple[TicketDocument, float]]]:
    return page(ranked, lambda d: d[0].solution, req.offset, req.limit, req.collapse)


def _check_facets(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in FILTER_FIELDS]
    if unknown:
        raise ValueError(f"cannot facet on {unknown}; facetable: {', '.join(FILTER_FIELDS)}")
