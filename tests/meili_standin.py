"""A Meilisearch stand-in for tests, as an httpx transport: no Meilisearch server can run here.

It answers the calls search/meili.py makes with the shapes in tests/fixtures/meili/
responses.json (from Meilisearch's documentation and source), and refuses what Meilisearch
refuses: a missing or wrong key (401/403), unknown fields (400 `bad_request`), facets and
filters on attributes that are not filterable, searching attributes that are not
searchable, a body over the payload limit (413), a wrong Content-Type (415), a missing index
(404), and - when `busy` - searches (503 `too_many_search_requests`).

Matching follows Meilisearch's documented rules, simplified: words match exactly, the last
word also as a prefix, with 1 typo from 5 letters and 2 from 9 (a wrong first letter counts as
two); phrases in quotes match exactly; synonyms of the settings are looked up for runs of 1-3
words only; `matchingStrategy` `all`, `last` (candidates are the documents matching at least
the first word, and facets and totals count them all) and `frequency` (the rarest group of
words is never dropped); facet values are compared trimmed and lower-cased; filter strings
unescape `\\"` only; totals stop at `pagination.maxTotalHits`.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path
from typing import Any

import httpx

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "meili" / "responses.json").read_text())
_WORD = re.compile(r"\w+")
_CLAUSE = re.compile(
    r"^\s*([\w.]+)\s+(NOT\s+IN|IN)\s+\[(.*)\]\s*$|^\s*([\w.]+)\s*=\s*(.+?)\s*$", re.S
)
_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^,\s]+)')


def tokens(value: Any) -> list[str]:
    if isinstance(value, list):
        return [t for v in value for t in tokens(v)]
    return _WORD.findall(str(value).lower()) if value is not None else []


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


class MeiliError(Exception):
    def __init__(self, code: str, **values: Any) -> None:
        spec = FIXTURES["errors"][code]
        self.status = int(spec["status"])
        self.body = {
            "message": spec["message"].format(**values) if values else spec["message"],
            "code": code,
            "type": spec["type"],
            "link": f"https://docs.meilisearch.com/errors#{code}",
        }


class MeiliStandin:
    """In-memory indexes, tasks done at once, and the rules above."""

    def __init__(self, master_key: str | None = "master-key", payload_limit: int = 100_000_000):
        self.master_key = master_key
        self.payload_limit = payload_limit
        self.indexes: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.task_ids = itertools.count(0)
        self.busy = False
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- the HTTP surface

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        try:
            return self._route(request)
        except MeiliError as exc:
            return httpx.Response(exc.status, json=exc.body)

    def _route(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/health":
            return httpx.Response(200, json={"status": "available"})
        self._authorise(request)
        body = self._body(request)
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            return httpx.Response(200, json=FIXTURES["version"])
        if parts == ["multi-search"] and method == "POST":
            return httpx.Response(200, json={"results": self.multi_search(body)})
        if parts[:1] == ["tasks"] and len(parts) == 2 and method == "GET":
            if int(parts[1]) not in self.tasks:
                raise MeiliError("index_not_found", uid=parts[1])
            return httpx.Response(200, json=self.tasks[int(parts[1])])
        if parts == ["indexes"] and method == "POST":
            return self._enqueue(body["uid"], "indexCreation", lambda: self._create(body))
        if parts[:1] == ["indexes"] and len(parts) >= 2:
            return self._index_route(method, parts[1], parts[2:], body, request)
        return httpx.Response(404, json={"message": "not found", "code": "not_found"})

    def _authorise(self, request: httpx.Request) -> None:
        if self.master_key is None:
            return
        header = request.headers.get("Authorization")
        if header is None:
            raise MeiliError("missing_authorization_header")
        if header != f"Bearer {self.master_key}":
            raise MeiliError("invalid_api_key")

    def _body(self, request: httpx.Request) -> Any:
        if request.method not in ("POST", "PATCH", "PUT"):
            return None
        if len(request.content) > self.payload_limit:
            raise MeiliError("payload_too_large", limit=f"{self.payload_limit}B")
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            raise MeiliError("invalid_content_type", value=content_type)
        return json.loads(request.content or b"null")

    def _index(self, uid: str) -> dict[str, Any]:
        if uid not in self.indexes:
            raise MeiliError("index_not_found", uid=uid)
        return self.indexes[uid]

    def _index_route(
        self, method: str, uid: str, rest: list[str], body: Any, request: httpx.Request
    ) -> httpx.Response:
        if not rest and method == "GET":
            index = self._index(uid)
            return httpx.Response(200, json={**FIXTURES["index"], "uid": uid,
                                             "primaryKey": index["primaryKey"]})  # fmt: skip
        if rest == ["settings"] and method == "GET":
            return httpx.Response(200, json=self._index(uid)["settings"])
        if rest == ["settings"] and method == "PATCH":
            self._check_fields(body, FIXTURES["default_settings"], ".")
            return self._enqueue(uid, "settingsUpdate", lambda: self._settings(uid, body))
        if rest == ["stats"] and method == "GET":
            stats = {**FIXTURES["stats"], "numberOfDocuments": len(self._index(uid)["docs"])}
            return httpx.Response(200, json=stats)
        if rest == ["documents"] and method == "POST":
            key = request.url.params.get("primaryKey", "id")
            return self._enqueue(uid, "documentAdditionOrUpdate", lambda: self._add(uid, key, body))
        if rest == ["documents", "delete-batch"] and method == "POST":
            ids = {int(i) for i in body}
            return self._enqueue(uid, "documentDeletion", lambda: self._remove(uid, ids))
        if rest == ["documents"] and method == "DELETE":
            return self._enqueue(uid, "documentDeletion", lambda: self._index(uid)["docs"].clear())
        return httpx.Response(404, json={"message": "not found", "code": "not_found"})

    # -- tasks (processed at once, failures recorded as Meilisearch does: on the task)

    def _enqueue(self, uid: str, kind: str, work: Any) -> httpx.Response:
        task_id = next(self.task_ids)
        task = {**copy.deepcopy(FIXTURES["task"]), "uid": task_id, "batchUid": task_id,
                "indexUid": uid, "type": kind}  # fmt: skip
        try:
            work()
        except MeiliError as exc:
            task["status"], task["error"] = "failed", {**exc.body}
        self.tasks[task_id] = task
        summary = {**FIXTURES["task_enqueued"], "taskUid": task_id, "indexUid": uid, "type": kind}
        return httpx.Response(202, json=summary)

    def _create(self, body: dict[str, Any]) -> None:
        if body["uid"] in self.indexes:
            raise MeiliError("index_already_exists", uid=body["uid"])
        self.indexes[body["uid"]] = {
            "primaryKey": body.get("primaryKey"),
            "settings": copy.deepcopy(FIXTURES["default_settings"]),
            "docs": {},
        }

    def _settings(self, uid: str, body: dict[str, Any]) -> None:
        settings = self._index(uid)["settings"]
        for key, value in body.items():
            if (
                isinstance(value, dict)
                and isinstance(settings.get(key), dict)
                and key != "synonyms"
            ):
                settings[key] = {**settings[key], **value}
            else:
                settings[key] = value

    def _add(self, uid: str, key: str, docs: list[dict[str, Any]]) -> None:
        if uid not in self.indexes:  # Meilisearch creates a missing index on the first add
            self._create({"uid": uid, "primaryKey": key})
        for doc in docs:
            self.indexes[uid]["docs"][doc[key]] = doc

    def _remove(self, uid: str, ids: set[int]) -> None:
        docs = self._index(uid)["docs"]
        for i in ids:
            docs.pop(i, None)

    @staticmethod
    def _check_fields(body: Any, allowed: Any, where: str) -> None:
        for field in body:
            if field not in allowed:
                expected = ", ".join(f"`{a}`" for a in allowed)
                raise MeiliError("bad_request", field=field, expected=expected)

    # -- search

    def multi_search(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._check_fields(body, ["queries", "federation"], ".")
        if self.busy:
            raise MeiliError("too_many_search_requests")
        return [self.search(q) for q in body["queries"]]

    def search(self, query: dict[str, Any]) -> dict[str, Any]:
        self._check_fields(query, FIXTURES["search_fields"], ".queries")
        uid = query["indexUid"]
        index = self._index(uid)
        settings = index["settings"]
        filterable = set(settings["filterableAttributes"])
        searchable = settings["searchableAttributes"]
        fields = query.get("attributesToSearchOn") or searchable
        for field in fields:
            if searchable != ["*"] and field not in searchable:
                raise MeiliError("invalid_search_attributes_to_search_on", field=field,
                                 available=", ".join(searchable))  # fmt: skip
        for facet in query.get("facets") or []:
            if facet not in filterable:
                raise MeiliError("invalid_search_facets", field=facet,
                                 available=", ".join(sorted(filterable)))  # fmt: skip
        docs = [
            d for d in index["docs"].values() if self._passes(d, query.get("filter"), filterable)
        ]
        if fields == ["*"]:
            fields = sorted({k for d in docs for k in d})
        scored = self._match(docs, str(query.get("q") or ""), fields, query, settings)
        cap = int(settings["pagination"]["maxTotalHits"])
        total = min(len(scored), cap)
        result: dict[str, Any] = {"indexUid": uid, "query": query.get("q") or "",
                                  "processingTimeMs": 0}  # fmt: skip
        if "page" in query or "hitsPerPage" in query:
            per_page = int(query.get("hitsPerPage", 20))
            page = int(query.get("page", 1))
            window = scored[(page - 1) * per_page : min(cap, page * per_page)] if per_page else []
            result.update(hitsPerPage=per_page, page=page, totalHits=total,
                          totalPages=-(-total // per_page) if per_page else 0)  # fmt: skip
        else:
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
            window = scored[min(offset, cap) : min(offset + limit, cap)]
            result.update(limit=limit, offset=offset, estimatedTotalHits=total)
        retrieve = query.get("attributesToRetrieve") or ["*"]
        hits = []
        for score, doc in window:
            hit = {k: v for k, v in doc.items() if retrieve == ["*"] or k in retrieve}
            if query.get("showRankingScore"):
                hit["_rankingScore"] = score
            hits.append(hit)
        result["hits"] = hits
        if query.get("facets"):
            result["facetDistribution"] = self._facets(
                [d for _, d in scored], query["facets"], settings
            )
            result["facetStats"] = {}
        return result

    def _facets(
        self, docs: list[dict[str, Any]], names: list[str], settings: dict[str, Any]
    ) -> dict[str, dict[str, int]]:
        out = {}
        order = settings["faceting"].get("sortFacetValuesBy", {}).get("*", "alpha")
        for name in names:
            counts: dict[str, int] = {}
            shown: dict[str, str] = {}
            for doc in docs:
                values = doc.get(name)
                for value in set(values if isinstance(values, list) else [values]):
                    if value is None:
                        continue
                    key = str(value).strip().lower()
                    shown.setdefault(key, str(value))
                    counts[key] = counts.get(key, 0) + 1
            keys = sorted(counts)
            if order == "count":
                keys.sort(key=counts.__getitem__, reverse=True)  # stable: ties stay alphabetical
            out[name] = {
                shown[k]: counts[k] for k in keys[: settings["faceting"]["maxValuesPerFacet"]]
            }
        return out

    # -- filters

    def _passes(self, doc: dict[str, Any], expr: Any, filterable: set[str]) -> bool:
        if expr is None:
            return True
        clauses = expr if isinstance(expr, list) else [expr]
        return all(self._clause(doc, c, filterable) for c in clauses)

    @staticmethod
    def _clause(doc: dict[str, Any], clause: str, filterable: set[str]) -> bool:
        m = _CLAUSE.match(clause)
        if not m:
            raise MeiliError("invalid_search_filter", field=clause, available="")
        attr = m.group(1) or m.group(4)
        if attr not in filterable:
            raise MeiliError(
                "invalid_search_filter", field=attr, available=", ".join(sorted(filterable))
            )
        raw = m.group(3) if m.group(1) else m.group(5)
        wanted = set()
        for quoted, bare in _VALUE.findall(raw):
            value = quoted.replace('\\"', '"') if quoted or not bare else bare
            wanted.add(value.strip().lower())
        values = doc.get(attr)
        have = {str(v).strip().lower() for v in (values if isinstance(values, list) else [values])}
        inside = bool(have & wanted)
        return not inside if m.group(2) and m.group(2).startswith("NOT") else inside

    # -- matching

    def _match(
        self,
        docs: list[dict[str, Any]],
        q: str,
        fields: list[str],
        query: dict[str, Any],
        settings: dict[str, Any],
    ) -> list[tuple[float, dict[str, Any]]]:
        terms = self._terms(q, settings)
        ranked = []
        for doc in docs:
            per_field = [tokens(doc.get(f)) for f in fields]
            if not terms:
                ranked.append((1.0, (0, 0, 0), doc))
                continue
            found = [
                self._term_match(t, per_field, i == len(terms) - 1) for i, t in enumerate(terms)
            ]
            ranked.append((0.0, found, doc))  # type: ignore[arg-type]
        if not terms:
            return [(1.0, d) for _, _, d in ranked]
        strategy = query.get("matchingStrategy", "last")
        df = [sum(1 for _, f, _ in ranked if f[i] is not None) for i in range(len(terms))]
        out = []
        for _, found, doc in ranked:
            matched = [f is not None for f in found]  # type: ignore[union-attr]
            if strategy == "all" and not all(matched):
                continue
            if strategy == "last" and not matched[0]:
                continue
            if strategy == "frequency":
                rarest = min(df)
                if not all(m for m, n in zip(matched, df, strict=True) if n == rarest):
                    continue
            if not any(matched):
                continue
            typos = sum(f[0] for f in found if f is not None)  # type: ignore[union-attr,index]
            attr = min((f[1] for f in found if f is not None), default=0)  # type: ignore[union-attr,index]
            score = sum(matched) / len(terms) * (1 - 0.05 * typos) * (1 - 0.02 * attr)
            out.append((round(score, 6), doc))
        out.sort(key=lambda sd: (-sd[0], -int(bool(sd[1].get("verified"))),
                                 -int(sd[1].get("reuse_count") or 0), sd[1]["id"]))  # fmt: skip
        return out

    @staticmethod
    def _terms(q: str, settings: dict[str, Any]) -> list[list[list[str]]]:
        """Each term: its alternatives, each a word sequence (a phrase, a synonym, a word)."""
        terms: list[list[list[str]]] = []
        plain: list[str] = []
        for phrase, word in re.findall(r'"([^"]*)"|(\S+)', q):
            if phrase:
                terms.append([["", *tokens(phrase)]])  # "" marks a phrase: exact words
            else:
                for t in tokens(word):
                    terms.append([[t]])
                    plain.append(t)
        synonyms = {k.lower(): v for k, v in settings.get("synonyms", {}).items()}
        words = [t[0] for t in terms if len(t) == 1 and len(t[0]) == 1]
        flat = [w[0] for w in words]
        for n in (3, 2, 1):  # Meilisearch looks synonyms up for runs of 1-3 words only
            for i in range(len(flat) - n + 1):
                key = " ".join(flat[i : i + n])
                for alt in synonyms.get(key, []):
                    terms[i].append(tokens(alt))
        return terms

    @staticmethod
    def _term_match(
        term: list[list[str]], per_field: list[list[str]], last: bool
    ) -> tuple[int, int] | None:
        """(typos, attribute rank) of the best way the term matches, or None."""
        best: tuple[int, int] | None = None
        for rank, toks in enumerate(per_field):
            for alt in term:
                if len(alt) > 1:
                    seq = alt[1:] if alt[0] == "" else alt
                    hit = any(toks[i : i + len(seq)] == seq for i in range(len(toks)))
                    typos = 0 if hit else None
                else:
                    typos = _word_typos(alt[0], toks, prefix=last)
                if typos is not None and (best is None or (typos, rank) < best):
                    best = (typos, rank)
        return best


def _word_typos(word: str, toks: list[str], *, prefix: bool) -> int | None:
    if word in toks or (prefix and any(t.startswith(word) for t in toks)):
        return 0
    budget = 2 if len(word) >= 9 else 1 if len(word) >= 5 else 0
    best = None
    for t in toks:
        if not budget:
            break
        d = _distance(word, t[: len(word)] if prefix and len(t) > len(word) else t)
        d = min(d, _distance(word, t))
        if t[:1] != word[:1]:
            d += 1  # a wrong first letter counts as two typos
        if d <= budget and (best is None or d < best):
            best = d
    return best
