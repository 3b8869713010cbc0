"""`SearchEngine` on Meilisearch through the official client.

Meilisearch folds accents but keeps `ł`, so every searchable field is indexed as a folded
shadow (`title_f`, …) made by `search.analysis`, like the embedded engine; stems go to
`stem_title_f`/`stem_body_f` and are searched by a second query of stemmed words. Highlights
and crops come from our own highlighter over the original text: Meilisearch would mark the
folded shadows, not what the consultant reads, and the two engines must mark the same words.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import meilisearch
from meilisearch.errors import (
    MeilisearchApiError,
    MeilisearchCommunicationError,
    MeilisearchTimeoutError,
)

from search import similar as sim
from search.analysis import (
    QueryUnit,
    folded_text,
    normalize_synonyms,
    parse_query,
    stem_word,
    stemmed_text,
    words,
)
from search.documents import TicketDocument
from search.highlight import QueryMatcher, build_hit
from search.ports import (
    FILTER_FIELDS,
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

_SHADOW = {
    "title": "title_f",
    "keywords": "keywords_f",
    "kb_links": "kb_f",
    "description": "description_f",
    "solution": "solution_f",
}
_STEM_FIELDS = ["stem_title_f", "stem_body_f"]
_FACET_ATTR = {
    "product": "product",
    "module": "module",
    "type": "type",
    "version": "version",
    "area": "area",
    "keyword": "keyword",
    "kb_link": "kb_link",
    "verified": "verified",
}
_RETRIEVE = [
    "id", "number", "title", "description", "solution", "keywords", "kb_links",
    "product", "module", "version", "type", "area", "completed_at", "verified", "reuse_count",
    "resolution",
]  # fmt: skip
_RANKING_RULES = [
    "words",
    "typo",
    "proximity",
    "attribute",
    "sort",
    "exactness",
    "verified:desc",
    "reuse_count:desc",
]
"""Meilisearch's default cascade (the embedded engine's `search.ranking` follows it), then
verified and reused tickets first among equals."""
WRITE_TIMEOUT_MS = 600_000
MAX_QUERY_WORDS = 10
T = TypeVar("T")


def to_meili_document(doc: TicketDocument) -> dict[str, Any]:
    """The stored originals, the facet attributes and the folded and stemmed shadows."""
    return {
        "id": doc.id,
        "number": doc.number,
        "title": doc.title,
        "description": doc.description,
        "solution": doc.solution,
        "keywords": doc.keywords,
        "kb_links": doc.kb_links,
        "product": doc.product,
        "module": doc.module,
        "version": doc.version,
        "type": doc.type,
        "area": doc.area,
        "resolution": doc.resolution,
        "completed_at": doc.completed_at,
        "verified": doc.verified,
        "reuse_count": doc.reuse_count,
        "keyword": doc.keywords,
        "kb_link": doc.kb_links,
        "title_f": folded_text(doc.title),
        "keywords_f": [folded_text(k) for k in doc.keywords],
        "kb_f": [folded_text(k) for k in doc.kb_links],
        "description_f": folded_text(doc.description),
        "solution_f": folded_text(doc.solution),
        "stem_title_f": stemmed_text(doc.title + " " + " ".join(doc.keywords)),
        "stem_body_f": stemmed_text(doc.description + " " + doc.solution),
    }


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def filter_expression(filters: dict[str, FilterValue]) -> list[str]:
    """Meilisearch filter clauses (ANDed); several values of one field are ORed with IN."""
    out = []
    for name, value in filters.items():
        if name not in FILTER_FIELDS:
            raise ValueError(f"cannot filter on {name!r}; filterable: {', '.join(FILTER_FIELDS)}")
        values = filter_values(value)
        if not values:
            continue
        attr = _FACET_ATTR[name]
        if name == "verified":
            out.append(f"{attr} IN [{', '.join(values)}]")
        else:
            out.append(f"{attr} IN [{', '.join(_quote(v) for v in values)}]")
    return out


class MeiliSearchEngine:
    """`SearchEngine` on a Meilisearch server (one index, `tickets` by default)."""

    def __init__(self, url: str, key: str | None, index_name: str = "tickets") -> None:
        self._client = meilisearch.Client(url, key or None, timeout=30)
        self._index_name = index_name
        self._index = self._client.index(index_name)
        self._settings = IndexSettings()
        self._synonyms = normalize_synonyms(self._settings.synonyms)
        self._stop_words: set[str] = set()
        self._local_ids = itertools.count(1)

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
            raise SearchUnavailable(f"Meilisearch does not answer: {exc}") from exc

    @staticmethod
    def _task(info: Any) -> TaskInfo:
        return TaskInfo(uid=int(info.task_uid), status=str(getattr(info, "status", "enqueued")))

    # -- writes ---------------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        unknown = set(settings.filterable_attributes) - set(FILTER_FIELDS)
        if unknown:
            raise ValueError(f"unsupported filterable attributes: {sorted(unknown)}")
        self._settings = settings
        self._synonyms = normalize_synonyms(settings.synonyms)
        self._stop_words = {w for s in settings.stop_words for w in words(s)}
        body: dict[str, Any] = {
            "searchableAttributes": [_SHADOW[a] for a in settings.searchable_attributes]
            + _STEM_FIELDS,
            "filterableAttributes": ["id"]
            + [_FACET_ATTR[a] for a in settings.filterable_attributes],
            "sortableAttributes": list(settings.sortable_attributes),
            "displayedAttributes": _RETRIEVE,
            "rankingRules": _RANKING_RULES,
            "synonyms": self._synonyms,
            "stopWords": sorted(self._stop_words),
            "typoTolerance": {
                "enabled": settings.typo_tolerance,
                "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
            },
            "faceting": {"maxValuesPerFacet": 100},
            "pagination": {"maxTotalHits": 1000},
        }
        self._call(lambda: self._client.create_index(self._index_name, {"primaryKey": "id"}))
        return self._task(self._call(lambda: self._index.update_settings(body)))

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo:
        latest = {d.id: d for d in docs}
        payload = [to_meili_document(d) for d in latest.values()]
        return self._task(self._call(lambda: self._index.add_documents(payload, primary_key="id")))

    def delete(self, ids: Sequence[int]) -> TaskInfo:
        if not ids:
            return TaskInfo(uid=-next(self._local_ids), status="succeeded")
        expr = f"id IN [{', '.join(str(int(i)) for i in ids)}]"
        return self._task(self._call(lambda: self._index.delete_documents(filter=expr)))

    def delete_all(self) -> TaskInfo:
        return self._task(self._call(self._index.delete_all_documents))

    def wait(self, task: TaskInfo, timeout_s: float = 60) -> None:
        if task.uid < 0:
            return
        done = self._call(
            lambda: self._client.wait_for_task(task.uid, timeout_in_ms=int(timeout_s * 1000))
        )
        if done.status != "succeeded":
            raise SearchUnavailable(f"Meilisearch task {task.uid} {done.status}: {done.error}")

    # -- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        return int(self._call(self._index.get_stats).number_of_documents)

    def ping(self) -> None:
        try:
            self._client.health()
        except (MeilisearchCommunicationError, MeilisearchTimeoutError, MeilisearchApiError) as exc:
            raise SearchUnavailable(f"Meilisearch does not answer: {exc}") from exc

    def close(self) -> None:
        """The client holds no resources that need closing."""

    def search(self, req: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        units = parse_query(req.q, self._stop_words, self._synonyms, MAX_QUERY_WORDS)
        query_text = " ".join(
            '"' + " ".join(u.words) + '"' if u.phrase else " ".join(u.words) for u in units
        )
        filters = filter_expression(req.filters)
        unknown = [f for f in req.facets if f not in FILTER_FIELDS]
        if unknown:
            raise ValueError(f"cannot facet on {unknown}")
        wanted = max(0, req.offset) + max(0, req.limit)
        base: dict[str, Any] = {
            "indexUid": self._index_name,
            "limit": wanted,
            "offset": 0,
            "filter": filters or None,
            "attributesToRetrieve": _RETRIEVE,
            "matchingStrategy": req.matching_strategy or self._settings.matching_strategy,
            "showRankingScore": True,
        }
        text_query = {
            **base,
            "q": query_text,
            "attributesToSearchOn": [_SHADOW[a] for a in self._settings.searchable_attributes],
            "facets": [_FACET_ATTR[f] for f in req.facets],
        }
        queries = [text_query]
        lemma_words = [r for u in units if not u.phrase for r in (u.raw or u.words)]
        if lemma_words:
            stem_q = " ".join(stem_word(w) for w in lemma_words)
            queries.append({**base, "q": stem_q, "attributesToSearchOn": _STEM_FIELDS})
        results = self._call(lambda: self._client.multi_search(queries))["results"]
        seen: set[int] = set()
        raw_hits: list[tuple[dict[str, Any], float]] = []
        for rank, result in enumerate(results):
            for h in result.get("hits", []):
                if h["id"] not in seen:
                    seen.add(h["id"])
                    # Stem-only hits rank after every direct hit, like the embedded engine.
                    raw_hits.append(
                        (h, float(h.get("_rankingScore", 0.0)) * (0.5 if rank else 1.0))
                    )
        total = max(int(r.get("estimatedTotalHits", 0)) for r in results)
        matcher = QueryMatcher(
            units,
            typo_tolerance=self._settings.typo_tolerance,
            stop_words=frozenset(self._stop_words),
        )
        page = raw_hits[req.offset : req.offset + req.limit]
        hits = [self._hit(h, score, matcher, req) for h, score in page]
        distribution = results[0].get("facetDistribution", {}) or {}
        facets = {
            f: {str(k): int(v) for k, v in distribution.get(_FACET_ATTR[f], {}).items()}
            for f in req.facets
        }
        return SearchResponse(
            hits=hits, facets=facets, total=total, took_ms=(time.perf_counter() - started) * 1000
        )

    def similar(self, req: SimilarRequest) -> SearchResponse:
        """Meilisearch reads 10 query words: pick the 10 most informative, then rerank."""
        started = time.perf_counter()
        n_docs = max(1, self.count())
        counts: Counter[str] = Counter(words(req.text))
        for t in words(req.title):
            counts[t] += 2
        # Document frequencies of the likeliest terms, in one round trip.
        probe = [t for t, _ in counts.most_common(60) if len(t) > 2]
        df_known = self._doc_freqs(probe)

        def doc_freq(term: str) -> int:
            return df_known.get(term, 0)

        terms = sim.select_terms(
            words(req.title), words(req.text), doc_freq, n_docs, MAX_QUERY_WORDS
        )
        if not terms:
            return SearchResponse(hits=[], total=0, took_ms=(time.perf_counter() - started) * 1000)
        filters = filter_expression(req.filters)
        if req.exclude_ids:
            filters.append(f"id NOT IN [{', '.join(str(int(i)) for i in req.exclude_ids)}]")
        params: dict[str, Any] = {
            "limit": sim.CANDIDATES,
            "filter": filters or None,
            "attributesToRetrieve": _RETRIEVE,
            "attributesToSearchOn": [_SHADOW[a] for a in self._settings.searchable_attributes],
            "matchingStrategy": "frequency",
            "showRankingScore": True,
        }
        result = self._call(lambda: self._index.search(" ".join(t.term for t in terms), params))
        raw = result.get("hits", [])
        docs = {h["id"]: h for h in raw}
        candidates = [
            sim.Candidate(self._document(h), float(h.get("_rankingScore", 0.0))) for h in raw
        ]
        # Terms outside the probe: estimate their frequency from the candidates themselves.
        cand_counts: Counter[str] = Counter()
        for c in candidates:
            doc = c.doc
            cand_counts.update(set(words(f"{doc.title}\n{doc.description}\n{doc.solution}")))
        scale = n_docs / max(1, len(candidates))

        def rerank_df(term: str) -> int:
            known = df_known.get(term)
            return known if known is not None else int(cand_counts.get(term, 0) * scale)

        stop_words = frozenset(self._stop_words)
        order = sim.rerank(req, candidates, rerank_df, n_docs, None, stop_words)[: req.limit]
        matcher = QueryMatcher([QueryUnit((t.term,)) for t in terms], typo_tolerance=False)
        shaped = SearchRequest(
            highlight_pre_tag=req.highlight_pre_tag,
            highlight_post_tag=req.highlight_post_tag,
            crop_length=req.crop_length,
        )
        hits = [self._hit(docs[i], score, matcher, shaped) for i, score in order]
        return SearchResponse(
            hits=hits,
            total=int(result.get("estimatedTotalHits", len(hits))),
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def _doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        if not terms:
            return {}
        fields = [_SHADOW[a] for a in self._settings.searchable_attributes]
        queries = [
            {
                "indexUid": self._index_name,
                "q": t,
                "limit": 0,
                "attributesToSearchOn": fields,
                "matchingStrategy": "all",
            }
            for t in terms
        ]
        results = self._call(lambda: self._client.multi_search(queries))["results"]
        return {t: int(r.get("estimatedTotalHits", 0)) for t, r in zip(terms, results, strict=True)}

    @staticmethod
    def _hit(
        h: dict[str, Any], score: float, matcher: QueryMatcher, req: SearchRequest
    ) -> SearchHit:
        doc = MeiliSearchEngine._document(h)
        return build_hit(
            doc, score, matcher, req.highlight_pre_tag, req.highlight_post_tag, req.crop_length
        )

    @staticmethod
    def _document(h: dict[str, Any]) -> TicketDocument:
        return TicketDocument(
            id=int(h["id"]),
            number=str(h.get("number", "")),
            title=str(h.get("title", "")),
            description=str(h.get("description", "")),
            solution=str(h.get("solution", "")),
            keywords=list(h.get("keywords") or []),
            kb_links=list(h.get("kb_links") or []),
            product=str(h.get("product", "")),
            module=str(h.get("module", "")),
            version=str(h.get("version", "")),
            type=str(h.get("type", "")),
            area=str(h.get("area", "")),
            resolution=str(h.get("resolution") or ""),
        )
