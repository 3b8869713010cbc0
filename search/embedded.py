"""The default search engine: tantivy, in-process, index on disk under `data_dir/search/`.

Mirrors Meilisearch's behaviour: every word must match, then words are dropped from the end;
typos by word length; prefix on the last word; folded diacritics; exact > typo > stem;
title and keywords above description and solution.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import tantivy

from search import similar as sim
from search.analysis import (
    MAX_TOKEN_CHARS,
    QueryUnit,
    expand_synonyms,
    normalize_synonyms,
    remove_stop_words,
    stem_word,
    stemmed_words,
    typo_budget,
)
from search.documents import TicketDocument
from search.highlight import QueryMatcher, crop, highlight
from search.ports import (
    FILTER_FIELDS,
    SEARCHABLE_FIELDS,
    FilterValue,
    IndexSettings,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SearchUnavailable,
    SimilarRequest,
    TaskInfo,
    filter_values,
)

Occur = tantivy.Occur
Q = tantivy.Query
log = logging.getLogger("sedno.search")

_TEXT_FIELD = {
    "title": "title",
    "keywords": "keywords",
    "kb_links": "kb",
    "description": "description",
    "solution": "solution",
}
EXACT_BOOST = 2.0
"""Constant bonus of an exact word over a typo or prefix match (times the field weight)."""
TYPO_BOOST = 1.0
PREFIX_BOOST = 1.2
PREFIX_TYPO_BOOST = 0.6
STEM_BOOST = 0.8
"""A stem-only match ranks below a typo in any field."""
VERIFIED_BONUS = 0.04
REUSE_BONUS = 0.04
"""Up to this share added for reuse (log-scaled, saturating at 100 reuses)."""
WRITER_HEAP = 128_000_000
WRITER_THREADS = 2
MAX_WORDS = 10


ANALYZER = "sedno_fold"
"""Tantivy's own folding analyzer, registered on every open (tantivy does not persist it)."""
ALL_FIELD = "all"
"""Every searchable field in one: one typo/prefix automaton per word instead of one per field."""
STEM_ALL_FIELD = "stem_all"
"""Both stem fields in one, for matching: one posting list per query word instead of two."""
SETTINGS_FILE = "sedno-settings.json"


def _analyzer() -> tantivy.TextAnalyzer:
    """Alphanumeric tokens, lowercased, diacritics folded (ł→l), long tokens dropped.

    The same words as `search.analysis.words` for Polish and English text; tantivy runs it in
    Rust, which is where indexing speed comes from.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS + 1))  # keeps tokens < limit bytes
        .build()
    )


def _raw_words_analyzer() -> tantivy.TextAnalyzer:
    """Lowercased words, not folded: what the stemmer reads (it knows ą, ę, ł).

    Splits like `search.analysis.stems`, only in Rust; `stemmed_words` drops the long ones.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


_raw_words = _raw_words_analyzer().analyze


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    # No positions: nothing runs phrase queries, and BM25 needs only frequencies.
    for name in _TEXT_FIELD.values():
        sb.add_text_field(name, tokenizer_name=ANALYZER, index_option="freq")
    sb.add_text_field(ALL_FIELD, tokenizer_name=ANALYZER, index_option="basic")
    for name in ("stem_title", "stem_body"):
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    sb.add_text_field(STEM_ALL_FIELD, tokenizer_name="whitespace", index_option="basic")
    for name in FILTER_FIELDS:
        sb.add_text_field(f"f_{name}", tokenizer_name="raw", fast=True)
    sb.add_unsigned_field("verified_n", fast=True)
    sb.add_unsigned_field("reuse_count", fast=True)
    sb.add_integer_field("completed_at", fast=True)
    sb.add_bytes_field("payload", stored=True)
    return sb.build()


def _to_tantivy(doc: TicketDocument, encoder: msgspec.json.Encoder) -> tantivy.Document:
    """One ticket as a tantivy document; the hot loop of indexing, so written out flat."""
    out = tantivy.Document()
    add = out.add_text
    out.add_unsigned("id", doc.id)
    keywords = " ; ".join(doc.keywords)
    kb = " ".join(doc.kb_links)
    # Tantivy folds and splits the text itself (ANALYZER); Python only stems.
    for field, text in (
        ("title", doc.title),
        ("keywords", keywords),
        ("kb", kb),
        ("description", doc.description),
        ("solution", doc.solution),
    ):
        if text:
            add(field, text)
            add(ALL_FIELD, text)
    title_stems = stemmed_words(_raw_words(doc.title + " " + keywords))
    body_stems = stemmed_words(_raw_words(doc.description + " " + doc.solution))
    add("stem_title", title_stems)
    add("stem_body", body_stems)
    add(STEM_ALL_FIELD, title_stems)
    add(STEM_ALL_FIELD, body_stems)
    for name, value in (
        ("f_product", doc.product),
        ("f_module", doc.module),
        ("f_type", doc.type),
        ("f_version", doc.version),
        ("f_area", doc.area),
    ):
        if value:
            add(name, value)
    for value in dict.fromkeys(doc.keywords):
        add("f_keyword", value)
    for value in dict.fromkeys(doc.kb_links):
        add("f_kb_link", value)
    add("f_verified", "true" if doc.verified else "false")
    out.add_unsigned("verified_n", 1 if doc.verified else 0)
    out.add_unsigned("reuse_count", max(0, doc.reuse_count))
    out.add_integer("completed_at", doc.completed_at)
    out.add_bytes("payload", encoder.encode(doc))
    return out


def _open_index(schema: tantivy.Schema, directory: Path) -> tantivy.Index:
    """Open or create the index; one in an older layout is emptied (it is derived data)."""
    try:
        index = tantivy.Index(schema, path=str(directory))
    except ValueError as exc:
        if "schema does not match" not in str(exc):
            raise SearchUnavailable(f"cannot open search index at {directory}: {exc}") from exc
        log.warning(
            "search index at %s has an older layout: emptied it; run `sedno reindex`", directory
        )
        for path in directory.iterdir():
            if path.is_file() and path.name != SETTINGS_FILE:
                path.unlink()
        index = tantivy.Index(schema, path=str(directory))
    index.register_tokenizer(ANALYZER, _analyzer())
    return index


class EmbeddedSearchEngine:
    """`SearchEngine` on tantivy; thread-safe; one writer at a time across processes."""

    def __init__(self, index_dir: Path, *, lock_timeout_s: float = 10.0) -> None:
        self._dir = index_dir
        self._dir.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = _open_index(self._schema, self._dir)
        self._analyze = _analyzer().analyze
        self._write_lock = threading.Lock()
        self._lock_timeout_s = lock_timeout_s
        self._task_ids = itertools.count(1)
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(TicketDocument)
        self._settings_path = self._dir / SETTINGS_FILE
        self._settings = IndexSettings()
        if self._settings_path.exists():
            self._settings = msgspec.json.decode(
                self._settings_path.read_bytes(), type=IndexSettings
            )
        self._apply_settings(self._settings)
        self._closed = False
        self._df_cache: dict[str, int] = {}
        self._stem_df_cache: dict[str, int] = {}
        self._vector_cache: dict[int, tuple[dict[str, float], dict[str, float]]] = {}

    # -- writes ---------------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        unknown = set(settings.filterable_attributes) - set(FILTER_FIELDS)
        unknown |= set(settings.searchable_attributes) - set(SEARCHABLE_FIELDS)
        if unknown:
            raise ValueError(f"unsupported attributes: {sorted(unknown)}")
        self._settings_path.write_bytes(msgspec.json.encode(settings))
        self._settings = settings
        self._apply_settings(settings)
        return self._done()

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo:
        latest = {d.id: d for d in docs}
        if not latest:
            return self._done()
        with self._writer() as writer:
            writer.delete_documents_by_query(Q.term_set_query(self._schema, "id", list(latest)))
            for doc in latest.values():
                writer.add_document(_to_tantivy(doc, self._encoder))
        return self._done()

    def delete(self, ids: Sequence[int]) -> TaskInfo:
        if ids:
            with self._writer() as writer:
                writer.delete_documents_by_query(Q.term_set_query(self._schema, "id", list(ids)))
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
            # Document frequencies changed; the caches are only valid for one index state.
            self._df_cache = {}
            self._stem_df_cache = {}
            self._vector_cache = {}

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

    def _apply_settings(self, settings: IndexSettings) -> None:
        self._synonyms = normalize_synonyms(settings.synonyms)
        self._stop_words = {w for s in settings.stop_words for w in self._analyze(s)}
        self._field_weights = {
            _TEXT_FIELD[name]: 4.0 * (0.8**i)
            for i, name in enumerate(settings.searchable_attributes)
        }
        # The combined field holds every searchable field: usable only when all are searched.
        self._use_all_field = set(settings.searchable_attributes) == set(SEARCHABLE_FIELDS)
        self._typo_weight = max(self._field_weights.values(), default=1.0)
        # A prefix in any field (the combined one) scores like one in the lowest field.
        self._low_weight = min(self._field_weights.values(), default=1.0)
        self._top_field = next(iter(self._field_weights), "")

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
        filters = self._filter_clauses(req.filters)
        query_words = self._analyze(req.q)[:MAX_WORDS]
        query_words = remove_stop_words(query_words, self._stop_words)
        units = expand_synonyms(query_words, self._synonyms)
        wanted = max(0, req.offset) + max(0, req.limit)
        fetch = wanted + 30

        ranked: list[tuple[int, float, Any]] = []  # (bucket, score, address)
        seen: set[tuple[int, int]] = set()
        total = 0
        kept = 0
        if not units:
            result = searcher.search(self._combine([], filters), fetch, count=True)
            total = result.count  # type: ignore[attr-defined]
            ranked = [(0, score, addr) for score, addr in result.hits]
        else:
            last = len(units) - 1
            unit_queries = [self._unit_query(u, is_last=i == last) for i, u in enumerate(units)]
            # Matching strategy "last": all words first; drop words from the end only while
            # too few documents match.
            for keep in range(len(units), 0, -1):
                kept = keep
                result = searcher.search(
                    self._combine(unit_queries[:keep], filters), fetch, count=True
                )
                total = result.count  # type: ignore[attr-defined]
                for score, addr in result.hits:
                    key = (addr.segment_ord, addr.doc)
                    if key not in seen:
                        seen.add(key)
                        ranked.append((len(units) - keep, score, addr))
                if total >= wanted:
                    break
        ordered = self._prefer_verified_and_reused(searcher, ranked)
        page = ordered[req.offset : req.offset + req.limit] if req.limit > 0 else []
        matcher = QueryMatcher(units, typo_tolerance=self._settings.typo_tolerance)
        hits = [
            self._hit(
                searcher,
                addr,
                score,
                matcher,
                req.highlight_pre_tag,
                req.highlight_post_tag,
                req.crop_length,
            )
            for score, addr in page
        ]
        facets: dict[str, dict[str, int]] = {}
        if req.facets:
            # Facets need the matching documents only: a query without the scoring clauses.
            last = len(units) - 1
            match_queries = [
                self._unit_match_query(u, is_last=i == last) for i, u in enumerate(units[:kept])
            ]
            facets = self._facets(searcher, self._combine(match_queries, filters), req.facets)
        return SearchResponse(
            hits=hits, facets=facets, total=total, took_ms=(time.perf_counter() - started) * 1000
        )

    def similar(self, req: SimilarRequest) -> SearchResponse:
        started = time.perf_counter()
        searcher = self._index.searcher()
        n_docs = searcher.num_docs
        word_df = self._word_doc_freq(searcher)

        stem_cache = self._stem_df_cache

        def stem_df(term: str) -> int:
            value = stem_cache.get(term)
            if value is None:
                value = max(
                    searcher.doc_freq("stem_title", term), searcher.doc_freq("stem_body", term)
                )
                stem_cache[term] = value
            return value

        clauses: list[tuple[Any, Any]] = []
        word_terms = sim.select_word_terms(req.title, req.text, word_df, n_docs)
        for t in word_terms:
            for field, weight in (
                ("title", 2.0),
                ("keywords", 2.0),
                ("description", 1.0),
                ("solution", 1.0),
            ):
                clauses.append(
                    (
                        Occur.Should,
                        Q.boost_query(Q.term_query(self._schema, field, t.term), weight * t.weight),
                    )
                )
        for t in sim.select_stem_terms(req.title, req.text, stem_df, n_docs):
            for field, weight in (("stem_title", 2.0), ("stem_body", 1.0)):
                clauses.append(
                    (
                        Occur.Should,
                        Q.boost_query(Q.term_query(self._schema, field, t.term), weight * t.weight),
                    )
                )
        if not clauses:
            return SearchResponse(hits=[], total=0, took_ms=(time.perf_counter() - started) * 1000)
        must: list[tuple[Any, Any]] = [(Occur.Must, Q.boolean_query(clauses))]
        must.extend((Occur.Must, f) for f in self._filter_clauses(req.filters))
        if req.exclude_ids:
            must.append(
                (Occur.MustNot, Q.term_set_query(self._schema, "id", list(req.exclude_ids)))
            )
        result = searcher.search(Q.boolean_query(must), sim.CANDIDATES, count=True)
        docs = {}
        candidates = []
        for score, addr in result.hits:
            doc = self._payload(searcher, addr)
            docs[doc.id] = doc
            candidates.append(
                sim.Candidate(doc.id, doc.title, doc.description + "\n" + doc.solution, score)
            )
        if len(self._vector_cache) > 50_000:
            self._vector_cache = {}
        order = sim.rerank(req.title, req.text, candidates, word_df, n_docs, self._vector_cache)[
            : req.limit
        ]
        matcher = QueryMatcher(
            [QueryUnit((t.term,)) for t in word_terms],
            typo_tolerance=False,
        )
        hits = [
            self._hit_from_doc(
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
        return self._word_doc_freq(self._index.searcher())(term)

    # -- query building -------------------------------------------------------------------

    def _word_doc_freq(self, searcher: Any) -> sim.DocFreq:
        cache = self._df_cache

        def doc_freq(term: str) -> int:
            value = cache.get(term)
            if value is None:
                value = max(
                    searcher.doc_freq(f, term)
                    for f in ("title", "description", "solution", "keywords")
                )
                cache[term] = value
            return value

        return doc_freq

    def _word_query(self, word: str, *, prefix: bool) -> Any:
        """Exact (BM25 and a constant, per field), typo, prefix and stem clauses of one word."""
        budget = typo_budget(word) if self._settings.typo_tolerance else 0
        clauses: list[tuple[Any, Any]] = []
        for field, fw in self._field_weights.items():
            exact = Q.term_query(self._schema, field, word)
            clauses.append((Occur.Should, Q.boost_query(exact, fw)))
            clauses.append((Occur.Should, Q.const_score_query(exact, EXACT_BOOST * fw)))
            if prefix and (field == self._top_field or not self._use_all_field):
                # The first field (the title) that starts with the typed word outranks others.
                pre = Q.fuzzy_term_query(self._schema, field, word, 0, True, True)
                clauses.append((Occur.Should, Q.boost_query(pre, PREFIX_BOOST * fw)))
        if self._use_all_field:
            # Automata on every field cost several times one on the combined field; the
            # combined one scores the same wherever it matched (Meilisearch too ranks typos
            # before attributes).
            tw = self._typo_weight
            if prefix:
                pre = Q.fuzzy_term_query(self._schema, ALL_FIELD, word, 0, True, True)
                clauses.append((Occur.Should, Q.boost_query(pre, PREFIX_BOOST * self._low_weight)))
            if budget:
                fuzzy = Q.fuzzy_term_query(self._schema, ALL_FIELD, word, budget, True, False)
                clauses.append((Occur.Should, Q.boost_query(fuzzy, TYPO_BOOST * tw)))
                if prefix:
                    pre_typo = Q.fuzzy_term_query(self._schema, ALL_FIELD, word, budget, True, True)
                    clauses.append((Occur.Should, Q.boost_query(pre_typo, PREFIX_TYPO_BOOST * tw)))
        elif budget:
            for field, fw in self._field_weights.items():
                fuzzy = Q.fuzzy_term_query(self._schema, field, word, budget, True, False)
                clauses.append((Occur.Should, Q.boost_query(fuzzy, TYPO_BOOST * fw)))
                if prefix:
                    pre_typo = Q.fuzzy_term_query(self._schema, field, word, budget, True, True)
                    clauses.append((Occur.Should, Q.boost_query(pre_typo, PREFIX_TYPO_BOOST * fw)))
        clauses.extend(self._stem_clauses(word))
        return Q.boolean_query(clauses)

    def _stem_clauses(self, word: str) -> list[tuple[Any, Any]]:
        stem = Q.term_query(self._schema, STEM_ALL_FIELD, stem_word(word))
        return [(Occur.Should, Q.const_score_query(stem, STEM_BOOST))]

    def _word_match_query(self, word: str, *, prefix: bool) -> Any:
        """The documents `_word_query` matches, unscored: one automaton on the combined field."""
        if not self._use_all_field:
            return self._word_query(word, prefix=prefix)
        budget = typo_budget(word) if self._settings.typo_tolerance else 0
        # A typo or prefix automaton also accepts the exact word, so it covers the exact
        # clauses; a prefix with typos covers the typo clause too.
        if budget or prefix:
            direct = Q.fuzzy_term_query(self._schema, ALL_FIELD, word, budget, True, prefix)
        else:
            direct = Q.term_query(self._schema, ALL_FIELD, word)
        return Q.boolean_query([(Occur.Should, direct), *self._stem_clauses(word)])

    def _exact_phrase_query(self, phrase: Sequence[str]) -> Any:
        """All words of a synonym, each exact in some searchable field."""
        per_word = []
        for word in phrase:
            fields = [
                (Occur.Should, Q.boost_query(Q.term_query(self._schema, field, word), fw))
                for field, fw in self._field_weights.items()
            ]
            per_word.append((Occur.Must, Q.boolean_query(fields)))
        return Q.boolean_query(per_word)

    def _exact_phrase_match_query(self, phrase: Sequence[str]) -> Any:
        if not self._use_all_field:
            return self._exact_phrase_query(phrase)
        return Q.boolean_query(
            [(Occur.Must, Q.term_query(self._schema, ALL_FIELD, word)) for word in phrase]
        )

    def _unit_query(self, unit: QueryUnit, *, is_last: bool) -> Any:
        if len(unit.words) == 1 and not unit.alternatives:
            return self._word_query(unit.words[0], prefix=is_last)
        options: list[tuple[Any, Any]] = []
        if len(unit.words) == 1:
            options.append((Occur.Should, self._word_query(unit.words[0], prefix=False)))
        else:
            options.append((Occur.Should, self._exact_phrase_query(unit.words)))
        for alt in unit.alternatives:
            # A synonym scores like an exact match, a little below the typed words.
            options.append((Occur.Should, Q.boost_query(self._exact_phrase_query(alt), 0.9)))
        return Q.boolean_query(options)

    def _unit_match_query(self, unit: QueryUnit, *, is_last: bool) -> Any:
        """The documents `_unit_query` matches, for counts and facets."""
        if len(unit.words) == 1 and not unit.alternatives:
            return self._word_match_query(unit.words[0], prefix=is_last)
        options: list[tuple[Any, Any]] = []
        if len(unit.words) == 1:
            options.append((Occur.Should, self._word_match_query(unit.words[0], prefix=False)))
        else:
            options.append((Occur.Should, self._exact_phrase_match_query(unit.words)))
        for alt in unit.alternatives:
            options.append((Occur.Should, self._exact_phrase_match_query(alt)))
        return Q.boolean_query(options)

    def _filter_clauses(self, filters: dict[str, FilterValue]) -> list[Any]:
        out = []
        for name, value in filters.items():
            if name not in FILTER_FIELDS:
                raise ValueError(
                    f"cannot filter on {name!r}; filterable: {', '.join(FILTER_FIELDS)}"
                )
            values = filter_values(value)
            if not values:
                continue
            out.append(Q.term_set_query(self._schema, f"f_{name}", values))
        return out

    def _combine(self, unit_queries: Sequence[Any], filters: Sequence[Any]) -> Any:
        clauses = [(Occur.Must, q) for q in unit_queries] + [(Occur.Must, f) for f in filters]
        if not unit_queries:
            clauses.append((Occur.Must, Q.all_query()))
        return Q.boolean_query(clauses)

    # -- results --------------------------------------------------------------------------

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
        unknown = [n for n in names if n not in FILTER_FIELDS]
        if unknown:
            raise ValueError(f"cannot facet on {unknown}; facetable: {', '.join(FILTER_FIELDS)}")
        spec = {n: {"terms": {"field": f"f_{n}", "size": 100}} for n in names}
        result = searcher.aggregate(query, spec)
        return {
            n: {str(b["key"]): int(b["doc_count"]) for b in result.get(n, {}).get("buckets", [])}
            for n in names
        }

    def _payload(self, searcher: Any, addr: Any) -> TicketDocument:
        stored = searcher.doc(addr)
        doc: TicketDocument = self._decoder.decode(stored["payload"][0])
        return doc

    def _hit(
        self,
        searcher: Any,
        addr: Any,
        score: float,
        matcher: QueryMatcher,
        pre: str,
        post: str,
        crop_words: int,
    ) -> SearchHit:
        return self._hit_from_doc(
            self._payload(searcher, addr), score, matcher, pre, post, crop_words
        )

    @staticmethod
    def _hit_from_doc(
        doc: TicketDocument,
        score: float,
        matcher: QueryMatcher,
        pre: str,
        post: str,
        crop_words: int,
    ) -> SearchHit:
        return build_hit(doc, score, matcher, pre, post, crop_words)


def build_hit(
    doc: TicketDocument, score: float, matcher: QueryMatcher, pre: str, post: str, crop_words: int
) -> SearchHit:
    """A hit with the title highlighted and the best cropped window of description/solution."""
    snippet, count = crop(doc.description, matcher, crop_words, pre, post)
    if doc.solution:
        alt, alt_count = crop(doc.solution, matcher, crop_words, pre, post)
        if alt_count > count or not snippet:
            snippet = alt
    return SearchHit(
        id=doc.id,
        number=doc.number,
        title=doc.title,
        snippet=snippet,
        title_highlighted=highlight(doc.title, matcher, pre, post),
        solution=doc.solution,
        keywords=doc.keywords,
        kb_links=doc.kb_links,
        product=doc.product,
        module=doc.module,
        type=doc.type,
        version=doc.version,
        score=float(score),
    )
