"""`SearchEngine` on a Meilisearch server (REST API, read against meilisearch 1.12-1.50).

Meilisearch folds accents but keeps `ł`, so every searchable field is indexed as a folded
shadow (`title_f`, …) made by `search.analysis`, like the embedded engine; stems go to
`stem_title_f`/`stem_body_f`. Highlights and crops come from our own highlighter over the
original text, so both engines mark the same words.

Where Meilisearch differs from the embedded engine, this module makes up for it:

* words are dropped from the end only while too few documents match (its `last` strategy
  counts facets and totals over documents matching the first word only): each round asks
  with `matchingStrategy: all`;
* the stemmed query and synonym substitutions (Meilisearch looks synonyms up for runs of 1-3
  words only) are further queries of one multi-search; total and facets count their union;
* facet values are stored hex-encoded (`f_module`, …): Meilisearch trims and lower-cases
  facet values for filtering and unescapes only `\\"` in filter strings, so exact values with
  any character (a backslash too) are compared exactly, as the embedded engine does;
* `pagination.maxTotalHits` covers the API's deepest page (offset 10 000) and facet values
  come by count;
* settings (synonyms, stop words) are read back from the server every `SETTINGS_TTL_S`, so
  replicas that did not apply them expand and highlight them too; a missing or
  auto-created index is created and configured before the first write;
* verified, then reused tickets win only what every ranking rule leaves tied, as in the
  embedded engine (`_rankingScore` ignores custom ranking rules, so the merge of the queries
  applies the same two tie-breakers);
* every error answer is `SearchUnavailable` (bad key, missing index, payload too large,
  `too_many_search_requests`): pages show no suggestions instead of failing.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Final

import httpx
import msgspec

from search import similar as sim
from search.analysis import (
    QueryUnit,
    expand_synonyms,
    folded_text,
    normalize_synonyms,
    remove_stop_words,
    stem_word,
    stemmed_text,
    words,
)
from search.collapse import COLLAPSE_WINDOW, page
from search.documents import TicketDocument
from search.highlight import QueryMatcher, build_hit
from search.ports import (
    FILTER_FIELDS,
    SEARCHABLE_FIELDS,
    FilterValue,
    IndexSettings,
    SearchRejected,
    SearchRequest,
    SearchResponse,
    SearchUnavailable,
    SimilarRequest,
    TaskInfo,
    filter_values,
)

_SHADOW: Final = {
    "title": "title_f",
    "keywords": "keywords_f",
    "kb_links": "kb_f",
    "description": "description_f",
    "solution": "solution_f",
}
_STEM_FIELDS: Final = ["stem_title_f", "stem_body_f"]
_RETRIEVE: Final = [
    "id", "number", "title", "description", "solution", "keywords", "kb_links",
    "product", "module", "version", "type", "area", "completed_at", "verified", "reuse_count",
    "resolution", "project",
]  # fmt: skip
_RANKING_RULES: Final = [
    "words",
    "typo",
    "proximity",
    "attribute",
    "sort",
    "exactness",
    "verified:desc",
    "reuse_count:desc",
]
"""Meilisearch's default cascade; verified, then reused tickets break the last ties."""
MAX_QUERY_WORDS: Final = 10
"""Meilisearch reads the first 10 words of a query."""
MAX_TOTAL_HITS: Final = 10_100
"""The API's deepest page (offset 10 000, limit 100); Meilisearch's default is 1000."""
MAX_VALUES_PER_FACET: Final = 100
SETTINGS_TTL_S: Final = 30.0
"""How long settings read from the server are trusted before they are read again."""
MAX_PAYLOAD_BYTES: Final = 20_000_000
"""One document batch at most; the server refuses more than 100 MB (`payload_too_large`)."""
EXTRA_FETCHED: Final = 30
"""Hits fetched beyond the page so that stem and synonym hits can be merged onto it."""
STEM_SHARE: Final = 0.5
"""Stem-only hits rank after every direct hit of the same round."""
MAX_SYNONYM_VARIANTS: Final = 4
_REFUSED_DOCUMENT_CODES: Final = ("invalid_document", "missing_document_id", "payload_too_large")
"""Task error codes of documents Meilisearch will refuse however often they are sent."""
_STRUCTURAL: Final = (
    "filterableAttributes", "searchableAttributes", "sortableAttributes", "pagination", "faceting",
)  # fmt: skip
"""Settings a first write checks: an index auto-created by an upsert has none of them."""


def facet_token(value: str) -> str:
    """A facet value as stored and filtered: hex of its UTF-8, which Meilisearch keeps intact."""
    return value.encode("utf-8").hex()


def facet_value(token: str) -> str:
    return bytes.fromhex(token).decode("utf-8")


def _facet_attr(name: str) -> str:
    return f"f_{name}"


def _facet_values(doc: TicketDocument, name: str) -> list[str]:
    if name == "keyword":
        return list(doc.keywords)
    if name == "kb_link":
        return list(doc.kb_links)
    if name == "verified":
        return ["true" if doc.verified else "false"]
    value = str(getattr(doc, name))
    return [value] if value else []


def to_meili_document(doc: TicketDocument) -> dict[str, Any]:
    """The stored originals, the hex facet attributes and the folded and stemmed shadows."""
    body: dict[str, Any] = {
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
        "project": doc.project,
        "completed_at": doc.completed_at,
        "verified": doc.verified,
        "reuse_count": doc.reuse_count,
        "resolution": doc.resolution,
        "title_f": folded_text(doc.title),
        "keywords_f": [folded_text(k) for k in doc.keywords],
        "kb_f": [folded_text(k) for k in doc.kb_links],
        "description_f": folded_text(doc.description),
        "solution_f": folded_text(doc.solution),
        "stem_title_f": stemmed_text(doc.title + " " + " ".join(doc.keywords)),
        "stem_body_f": stemmed_text(doc.description + " " + doc.solution),
    }
    for name in FILTER_FIELDS:
        body[_facet_attr(name)] = [facet_token(v) for v in _facet_values(doc, name)]
    return body


def filter_expression(filters: dict[str, FilterValue]) -> list[str]:
    """Meilisearch filter clauses (ANDed); several values of one field are ORed with IN."""
    out = []
    for name, value in filters.items():
        if name not in FILTER_FIELDS:
            raise ValueError(f"cannot filter on {name!r}; filterable: {', '.join(FILTER_FIELDS)}")
        values = filter_values(value)
        if values:
            tokens = ", ".join(f'"{facet_token(v)}"' for v in values)
            out.append(f"{_facet_attr(name)} IN [{tokens}]")
    return out


def settings_body(settings: IndexSettings) -> dict[str, Any]:
    """The index settings Sedno needs, as `PATCH /indexes/{uid}/settings` takes them."""
    stop_words = sorted({w for s in settings.stop_words for w in words(s)})
    return {
        "searchableAttributes": [_SHADOW[a] for a in settings.searchable_attributes] + _STEM_FIELDS,
        "filterableAttributes": ["id"] + [_facet_attr(a) for a in settings.filterable_attributes],
        "sortableAttributes": sorted(set(settings.sortable_attributes) | {"verified"}),
        "displayedAttributes": _RETRIEVE,
        "rankingRules": _RANKING_RULES,
        "synonyms": normalize_synonyms(settings.synonyms),
        "stopWords": stop_words,
        "typoTolerance": {
            "enabled": settings.typo_tolerance,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
        },
        "faceting": {
            "maxValuesPerFacet": MAX_VALUES_PER_FACET,
            "sortFacetValuesBy": {"*": "count"},
        },
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
    }


def settings_from_server(body: dict[str, Any]) -> IndexSettings:
    """What the server holds, as `IndexSettings` (unknown shadow names are ignored)."""
    by_shadow = {v: k for k, v in _SHADOW.items()}
    searchable = [by_shadow[a] for a in body.get("searchableAttributes") or [] if a in by_shadow]
    filterable = [
        a[2:] for a in body.get("filterableAttributes") or []
        if isinstance(a, str) and a.startswith("f_") and a[2:] in FILTER_FIELDS
    ]  # fmt: skip
    typo = body.get("typoTolerance") or {}
    return IndexSettings(
        searchable_attributes=searchable or list(SEARCHABLE_FIELDS),
        filterable_attributes=filterable,
        sortable_attributes=[a for a in body.get("sortableAttributes") or [] if a != "verified"],
        synonyms={str(k): list(v) for k, v in (body.get("synonyms") or {}).items()},
        stop_words=list(body.get("stopWords") or []),
        typo_tolerance=bool(typo.get("enabled", True)),
    )


class MeiliError(SearchUnavailable):
    """An error answer of Meilisearch: `status` and its `code` (e.g. `invalid_api_key`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Meilisearch {status} {code}: {message}")
        self.status = status
        self.code = code


class _Variant(msgspec.Struct, frozen=True):
    q: str
    fields: list[str]
    share: float


class MeiliSearchEngine:
    """`SearchEngine` on a Meilisearch server (one index, `tickets` by default)."""

    def __init__(
        self,
        url: str,
        key: str | None,
        index_name: str = "tickets",
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "Sedno"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self._index_name = index_name
        self._path = f"/indexes/{index_name}"
        self._lock = threading.Lock()
        self._settings = IndexSettings()
        self._synonyms: dict[str, list[str]] = {}
        self._stop_words: set[str] = set()
        self._settings_read_at = -math.inf
        self._index_ready = False
        self._batches: dict[int, list[int]] = {}
        self._local_ids = itertools.count(1)

    # -- transport ------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        content = None if body is None else msgspec.json.encode(body)
        try:
            response = self._http.request(method, path, content=content, params=params)
        except httpx.HTTPError as exc:
            raise SearchUnavailable(f"Meilisearch does not answer: {exc!r}") from exc
        if response.status_code >= 400:
            try:
                error = msgspec.json.decode(response.content)
            except msgspec.DecodeError:
                error = {}
            if not isinstance(error, dict):
                error = {}
            raise MeiliError(
                response.status_code,
                str(error.get("code", "http_error")),
                str(error.get("message", response.reason_phrase)),
            )
        return msgspec.json.decode(response.content) if response.content else None

    def _task(self, answer: Any) -> TaskInfo:
        return TaskInfo(uid=int(answer["taskUid"]), status=str(answer.get("status", "enqueued")))

    def _done(self) -> TaskInfo:
        return TaskInfo(uid=-next(self._local_ids), status="succeeded")

    # -- the index and its settings -------------------------------------------------------

    def _index_exists(self) -> bool:
        try:
            self._request("GET", self._path)
        except MeiliError as exc:
            if exc.code == "index_not_found":
                return False
            raise
        return True

    def _read_settings(self, *, force: bool = False) -> dict[str, Any] | None:
        """The server's settings (adopted here), or None when the index does not exist."""
        if not force and time.monotonic() - self._settings_read_at < SETTINGS_TTL_S:
            return None
        try:
            body = self._request("GET", f"{self._path}/settings")
        except MeiliError as exc:
            if exc.code == "index_not_found":
                self._index_ready = False
                return None
            raise
        self._adopt(settings_from_server(body))
        self._settings_read_at = time.monotonic()
        return dict(body)

    def _adopt(self, settings: IndexSettings) -> None:
        with self._lock:
            self._settings = settings
            self._synonyms = normalize_synonyms(settings.synonyms)
            self._stop_words = {w for s in settings.stop_words for w in words(s)}

    def _ensure_index(self) -> None:
        """Create the index, or repair an auto-created one, before the first write."""
        if self._index_ready:
            return
        server = self._read_settings(force=True)
        if server is None:
            created = self._request(
                "POST", "/indexes", body={"uid": self._index_name, "primaryKey": "id"}
            )
            self.wait(self._task(created), 60)
            self.wait(self._apply(self._settings), 120)
        else:
            # Keep what the server holds of the dictionary; restore what Sedno relies on.
            repaired = msgspec.structs.replace(
                IndexSettings(),
                synonyms=self._settings.synonyms,
                stop_words=self._settings.stop_words,
                typo_tolerance=self._settings.typo_tolerance,
            )
            wanted = settings_body(repaired)
            if any(server.get(k) != wanted[k] for k in _STRUCTURAL):
                self.wait(self._apply(repaired), 120)
        self._index_ready = True

    def _apply(self, settings: IndexSettings) -> TaskInfo:
        answer = self._request("PATCH", f"{self._path}/settings", body=settings_body(settings))
        self._adopt(settings)
        self._settings_read_at = time.monotonic()
        return self._task(answer)

    # -- writes ---------------------------------------------------------------------------

    def configure(self, settings: IndexSettings) -> TaskInfo:
        unknown = set(settings.filterable_attributes) - set(FILTER_FIELDS)
        if unknown:
            raise ValueError(f"unsupported filterable attributes: {sorted(unknown)}")
        if not self._index_exists():
            created = self._request(
                "POST", "/indexes", body={"uid": self._index_name, "primaryKey": "id"}
            )
            self.wait(self._task(created), 60)
        task = self._apply(settings)
        self._index_ready = True
        return task

    def upsert(self, docs: Sequence[TicketDocument]) -> TaskInfo:
        latest = {d.id: d for d in docs}
        if not latest:
            return self._done()
        self._ensure_index()
        refused: list[int] = []
        tasks: list[TaskInfo] = []
        for batch in _batches([to_meili_document(d) for d in latest.values()], refused):
            tasks.extend(self._send(batch, refused))
        if refused:
            for task in tasks:  # what was accepted goes in before the refusal is reported
                self._wait_one(task.uid, 600)
            raise SearchRejected(
                f"Meilisearch refused tickets {refused} as too large (payload limit)", refused
            )
        self._batches[tasks[-1].uid] = [t.uid for t in tasks[:-1]]
        return tasks[-1]

    def _send(self, batch: list[dict[str, Any]], refused: list[int]) -> list[TaskInfo]:
        """One batch; on 413 (a server or proxy with a lower limit) its halves, down to one
        document, which is then refused for good instead of being retried for ever."""
        try:
            answer = self._request(
                "POST", f"{self._path}/documents", body=batch, params={"primaryKey": "id"}
            )
        except MeiliError as exc:
            if exc.status != 413:
                raise
            if len(batch) == 1:
                refused.append(int(batch[0]["id"]))
                return []
            half = len(batch) // 2
            return self._send(batch[:half], refused) + self._send(batch[half:], refused)
        return [self._task(answer)]

    def delete(self, ids: Sequence[int]) -> TaskInfo:
        if not ids:
            return self._done()
        self._ensure_index()
        body = [int(i) for i in ids]
        return self._task(self._request("POST", f"{self._path}/documents/delete-batch", body=body))

    def delete_all(self) -> TaskInfo:
        if not self._index_exists():
            return self._done()  # nothing to delete on an empty server
        return self._task(self._request("DELETE", f"{self._path}/documents"))

    def wait(self, task: TaskInfo, timeout_s: float = 60) -> None:
        if task.uid < 0:
            return
        for uid in [*self._batches.pop(task.uid, []), task.uid]:
            self._wait_one(uid, timeout_s)

    def _wait_one(self, uid: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pause = 0.02
        while True:
            answer = self._request("GET", f"/tasks/{uid}")
            status = answer.get("status")
            if status == "succeeded":
                return
            if status in ("failed", "canceled"):
                error = answer.get("error") or {}
                code = str(error.get("code", ""))
                if code.startswith(_REFUSED_DOCUMENT_CODES):
                    raise SearchRejected(f"task {uid} {status}: {code}: {error.get('message')}")
                raise MeiliError(
                    int(error.get("status", 500) if isinstance(error.get("status"), int) else 500),
                    str(error.get("code", status)),
                    f"task {uid} {status}: {error.get('message', '')}",
                )
            if time.monotonic() > deadline:
                raise SearchUnavailable(f"Meilisearch task {uid} still {status} after {timeout_s}s")
            time.sleep(pause)
            pause = min(0.5, pause * 2)

    # -- reads ----------------------------------------------------------------------------

    def count(self) -> int:
        try:
            stats = self._request("GET", f"{self._path}/stats")
        except MeiliError as exc:
            if exc.code == "index_not_found":
                return 0  # a fresh server: empty, to be filled
            raise
        return int(stats["numberOfDocuments"])

    def ping(self) -> None:
        """Reachable and the key accepted (`/health` needs no key, so it proves nothing)."""
        try:
            self._request("GET", f"{self._path}/stats")
        except MeiliError as exc:
            if exc.code != "index_not_found":
                raise

    def close(self) -> None:
        self._http.close()

    def server_state(self) -> dict[str, Any]:
        """Read-only look at the server: `version`, and the index's `settings` and `stats`
        (None when the index does not exist). Errors raise `MeiliError`."""
        state: dict[str, Any] = {"version": self._request("GET", "/version")}
        try:
            state["settings"] = self._request("GET", f"{self._path}/settings")
            state["stats"] = self._request("GET", f"{self._path}/stats")
        except MeiliError as exc:
            if exc.code != "index_not_found":
                raise
            state["settings"] = state["stats"] = None
        return state

    def _multi(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for q in queries:
            q["indexUid"] = self._index_name
        answer = self._request("POST", "/multi-search", body={"queries": queries})
        return list(answer["results"])

    def search(self, req: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        self._read_settings()  # another replica may have changed the synonyms
        unknown = [f for f in req.facets if f not in FILTER_FIELDS]
        if unknown:
            raise ValueError(f"cannot facet on {unknown}")
        filters = filter_expression(req.filters)
        query_words = remove_stop_words(words(req.q)[:MAX_QUERY_WORDS], self._stop_words)
        units = expand_synonyms(query_words, self._synonyms)
        # With collapse, 3 tickets are looked at for copies per result wanted.
        per_result = COLLAPSE_WINDOW if req.collapse else 1
        wanted = max(0, req.offset) + max(0, req.limit) * per_result
        fetch = min(MAX_TOTAL_HITS, wanted + EXTRA_FETCHED)
        try:
            if not units:
                ranked, total, facets = self._placeholder(req, filters, fetch)
            else:
                ranked, total, facets = self._relaxed(req, units, filters, fetch, wanted)
        except MeiliError as exc:
            if exc.code == "index_not_found":
                return SearchResponse(hits=[], total=0, took_ms=_ms(started))
            raise
        matcher = QueryMatcher(
            units,
            typo_tolerance=self._settings.typo_tolerance,
            stop_words=frozenset(self._stop_words),
        )
        groups = page(
            ranked, lambda h: str(h[0].get("solution", "")), req.offset, req.limit, req.collapse
        )
        hits = [
            build_hit(
                self._document(h), score, matcher, req, copies=[self._document(c) for c, _ in rest]
            )
            for (h, score), *rest in groups
        ]
        return SearchResponse(hits=hits, facets=facets, total=total, took_ms=_ms(started))

    def _query(self, variant: _Variant, filters: list[str], limit: int) -> dict[str, Any]:
        return {
            "q": variant.q,
            "attributesToSearchOn": variant.fields,
            "matchingStrategy": "all",
            "filter": filters or None,
            "limit": limit,
            "attributesToRetrieve": _RETRIEVE,
            "showRankingScore": True,
        }

    def _placeholder(
        self, req: SearchRequest, filters: list[str], fetch: int
    ) -> tuple[list[tuple[dict[str, Any], float]], int, dict[str, dict[str, int]]]:
        query = {"q": "", "filter": filters or None, "limit": fetch,
                 "attributesToRetrieve": _RETRIEVE,
                 "facets": [_facet_attr(f) for f in req.facets]}  # fmt: skip
        [result] = self._multi([query])
        ranked = _ranked([(h, 1.0) for h in result.get("hits", [])])
        return ranked, int(result.get("estimatedTotalHits", 0)), _facets(result, req.facets)

    def _variants(self, units: Sequence[QueryUnit]) -> list[_Variant]:
        """The words as typed, their stems, and each synonym put in the place of its run."""
        direct = [_SHADOW[a] for a in self._settings.searchable_attributes]
        plain = [w for u in units for w in u.words]
        out = [
            _Variant(" ".join(plain), direct, 1.0),
            _Variant(" ".join(stem_word(w) for w in plain), list(_STEM_FIELDS), STEM_SHARE),
        ]
        for i, unit in enumerate(units):
            for alt in unit.alternatives:
                parts = [" ".join(u.words) for u in units]
                parts[i] = f'"{" ".join(alt)}"' if len(alt) > 1 else alt[0]
                out.append(_Variant(" ".join(parts), direct, 1.0))
        return out[: 2 + MAX_SYNONYM_VARIANTS]

    def _relaxed(
        self,
        req: SearchRequest,
        units: list[QueryUnit],
        filters: list[str],
        fetch: int,
        wanted: int,
    ) -> tuple[list[tuple[dict[str, Any], float]], int, dict[str, dict[str, int]]]:
        """All words first; the last ones are dropped only while too few documents match."""
        ranked: list[tuple[dict[str, Any], float]] = []
        seen: set[int] = set()
        total, facets = 0, {}
        for keep in range(len(units), 0, -1):
            variants = self._variants(units[:keep])
            queries = [self._query(v, filters, fetch) for v in variants]
            if req.facets:
                queries[0]["facets"] = [_facet_attr(f) for f in req.facets]
            results = self._multi(queries)
            best: dict[int, tuple[dict[str, Any], float]] = {}
            for variant, result in zip(variants, results, strict=True):
                for h in result.get("hits", []):
                    score = float(h.get("_rankingScore", 0.0)) * variant.share
                    if h["id"] not in best or best[h["id"]][1] < score:
                        best[h["id"]] = (h, score)
            for h, score in _ranked(list(best.values())):
                if h["id"] not in seen:
                    seen.add(h["id"])
                    ranked.append((h, score))
            union = self._union_ids(variants, results, filters)
            total = len(union)
            if req.facets:
                facets = self._union_facets(req.facets, filters, results[0], union)
            if total >= wanted:
                break
        return ranked, total, facets

    def _union_ids(
        self, variants: list[_Variant], results: list[dict[str, Any]], filters: list[str]
    ) -> set[int]:
        """Documents matching any variant: from the hits when they were all fetched."""
        ids = {int(h["id"]) for r in results for h in r.get("hits", [])}
        partial = [
            v for v, r in zip(variants, results, strict=True)
            if int(r.get("estimatedTotalHits", 0)) > len(r.get("hits", []))
        ]  # fmt: skip
        if partial:
            more = self._multi(
                [
                    {
                        **self._query(v, filters, MAX_TOTAL_HITS),
                        "attributesToRetrieve": ["id"],
                        "showRankingScore": False,
                    }
                    for v in partial
                ]
            )
            ids.update(int(h["id"]) for r in more for h in r.get("hits", []))
        return ids

    def _union_facets(
        self,
        names: list[str],
        filters: list[str],
        direct: dict[str, Any],
        union: set[int],
    ) -> dict[str, dict[str, int]]:
        if int(direct.get("estimatedTotalHits", 0)) == len(union):
            return _facets(direct, names)  # stems and synonyms found nothing more
        if not union:
            return {f: {} for f in names}
        clause = f"id IN [{', '.join(str(i) for i in sorted(union))}]"
        [counted] = self._multi(
            [
                {
                    "q": "",
                    "filter": [*filters, clause],
                    "limit": 0,
                    "facets": [_facet_attr(f) for f in names],
                }
            ]
        )
        return _facets(counted, names)

    def similar(self, req: SimilarRequest) -> SearchResponse:
        """Candidates from one query per informative word (Meilisearch never drops the rarest
        words of a query, so one query of ten rare words finds nothing), then our rerank."""
        started = time.perf_counter()
        n_docs = max(1, self.count())
        counts: Counter[str] = Counter(words(req.text))
        for t in words(req.title):
            counts[t] += 2
        probe = [t for t, _ in counts.most_common(60) if len(t) > 2]
        df_known = self._doc_freqs(probe, n_docs)

        def doc_freq(term: str) -> int:
            return df_known.get(term, 0)

        stop_words = sim.stop_word_set(sorted(self._stop_words))
        terms = sim.select_word_terms(
            req.title, req.text, doc_freq, n_docs, MAX_QUERY_WORDS, stop_words=stop_words
        )
        if not terms:
            return SearchResponse(hits=[], total=0, took_ms=_ms(started))
        filters = filter_expression(req.filters)
        if req.exclude_ids:
            filters.append(f"id NOT IN [{', '.join(str(int(i)) for i in req.exclude_ids)}]")
        fields = [_SHADOW[a] for a in self._settings.searchable_attributes]
        queries = [
            {"q": f'"{t.term}"', "attributesToSearchOn": fields, "filter": filters or None,
             "limit": sim.CANDIDATES, "attributesToRetrieve": _RETRIEVE,
             "showRankingScore": True}
            for t in terms
        ]  # fmt: skip
        results = self._multi(queries)
        docs: dict[int, dict[str, Any]] = {}
        bm25: dict[int, float] = {}
        for term, result in zip(terms, results, strict=True):
            weight = term.weight * sim.bm25_idf(doc_freq(term.term), n_docs)
            for h in result.get("hits", []):
                docs[h["id"]] = h
                gain = weight * (1.0 + float(h.get("_rankingScore", 0.0)))
                bm25[h["id"]] = bm25.get(h["id"], 0.0) + gain
        candidates = [
            sim.Candidate(self._document(docs[i]), score)
            for i, score in sorted(bm25.items(), key=lambda kv: (-kv[1], kv[0]))[
                : sim.candidate_count(req.limit)
            ]
        ]
        cand_counts: Counter[str] = Counter()
        for c in candidates:
            doc = c.doc
            cand_counts.update(set(words(f"{doc.title}\n{doc.description}\n{doc.solution}")))
        scale = n_docs / max(1, len(candidates))

        def rerank_df(term: str) -> int:
            known = df_known.get(term)
            return known if known is not None else int(cand_counts.get(term, 0) * scale)

        order = sim.rerank(req, candidates, rerank_df, n_docs, None, stop_words)[: req.limit]
        matcher = QueryMatcher([QueryUnit((t.term,)) for t in terms], typo_tolerance=False)
        hits = [
            build_hit(self._document(docs[r.id]), r.score, matcher, req, r.text_cosine)
            for r in order
        ]
        return SearchResponse(hits=hits, total=len(docs), took_ms=_ms(started))

    def _doc_freqs(self, terms: Sequence[str], n_docs: int) -> dict[str, int]:
        """Exact document frequencies: a phrase (no typo, no prefix), counted exhaustively."""
        if not terms:
            return {}
        fields = [_SHADOW[a] for a in self._settings.searchable_attributes]
        results = self._multi(
            [
                {"q": f'"{t}"', "attributesToSearchOn": fields, "page": 1, "hitsPerPage": 0}
                for t in terms
            ]
        )
        out = {}
        for term, result in zip(terms, results, strict=True):
            found = int(result.get("totalHits", 0))
            # At the cap the count is unknown, not 10 100: call such a word common.
            out[term] = n_docs if found >= MAX_TOTAL_HITS else found
        return out

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
            project=str(h.get("project", "")),
            resolution=str(h.get("resolution", "")),
        )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _ranked(scored: list[tuple[dict[str, Any], float]]) -> list[tuple[dict[str, Any], float]]:
    """Best score first; ties to verified, then more reused tickets (the embedded engine's
    last rules, and this index's `verified:desc`, `reuse_count:desc`)."""
    return sorted(
        scored,
        key=lambda hs: (
            -hs[1],
            not hs[0].get("verified"),
            -int(hs[0].get("reuse_count") or 0),
            int(hs[0]["id"]),
        ),
    )


def _facets(result: dict[str, Any], names: Iterable[str]) -> dict[str, dict[str, int]]:
    distribution = result.get("facetDistribution") or {}
    return {
        name: {
            facet_value(token): int(n)
            for token, n in (distribution.get(_facet_attr(name)) or {}).items()
        }
        for name in names
    }


def _batches(docs: list[dict[str, Any]], refused: list[int]) -> Iterable[list[dict[str, Any]]]:
    """Documents in batches below `MAX_PAYLOAD_BYTES` of JSON each; the id of a document
    larger than that alone goes to `refused`."""
    batch: list[dict[str, Any]] = []
    size = 2
    for doc in docs:
        n = len(msgspec.json.encode(doc)) + 1
        if n + 2 > MAX_PAYLOAD_BYTES:
            refused.append(int(doc["id"]))
            continue
        if batch and size + n > MAX_PAYLOAD_BYTES:
            yield batch
            batch, size = [], 2
        batch.append(doc)
        size += n
    if batch:
        yield batch
