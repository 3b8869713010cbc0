"""Meilisearch's ranking rules, computed on the candidates the index found.

The rules decide in order, each only among documents the ones before left tied:
words (the matching strategy's bucket), typo (fewer typos first; a swap is one typo),
proximity (query words close together, in order, in one field), attribute (the field order of
`searchable_attributes`, then the word's position in it), exactness (words typed as they are
in the document). Verified, then reused tickets win what is still tied, then BM25.

A match by lemma only (`fakturze` for `faktura`) counts as one typo and is not exact; a prefix
of the last word costs no typo and is not exact, as in Meilisearch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from search.analysis import QueryUnit, edit_distance, lemmas, typo_budget
from search.documents import TicketDocument
from search.highlight import cached_tokens

MAX_PROXIMITY = 7
"""Meilisearch's cap on the cost of one pair of query words in one field."""
OTHER_FIELD_PROXIMITY = 8
"""The cost of a pair of words that never share a field."""
MAX_RANKED_TOKENS = 400
"""Tokens of a long field read by the rules (stack traces add noise, not ranking)."""
NO_MATCH: tuple[tuple[int, int, bool], ...] = ()


def _field_texts(doc: TicketDocument, attributes: Sequence[str]) -> list[str]:
    values = {
        "title": doc.title,
        "keywords": " ; ".join(doc.keywords),
        "kb_links": " ".join(doc.kb_links),
        "description": doc.description,
        "solution": doc.solution,
    }
    return [values[a] for a in attributes]


@dataclass(slots=True)
class RuleMatcher:
    """How each document token matched the query's units: (unit, typos, exact), decided once."""

    units: Sequence[QueryUnit]
    unit_lemmas: Sequence[frozenset[str]]
    typo_tolerance: bool = True
    prefix_last: bool = True
    _cache: dict[tuple[str, str], tuple[tuple[int, int, bool], ...]] = field(default_factory=dict)

    def match(self, token: str, raw: str) -> tuple[tuple[int, int, bool], ...]:
        key = (token, raw)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._decide(token, raw)
        return found

    def _decide(self, token: str, raw: str) -> tuple[tuple[int, int, bool], ...]:
        out: list[tuple[int, int, bool]] = []
        token_lemmas: tuple[str, ...] | None = None
        last = len(self.units) - 1
        for i, unit in enumerate(self.units):
            best: tuple[int, bool] | None = None
            for word in unit.all_words:
                if token == word:
                    best = (0, True)
                    break
                typos = self._typos(word, token, prefix=self.prefix_last and i == last)
                if typos is not None and (best is None or typos < best[0]):
                    best = (typos, False)
            if best is None and self.unit_lemmas[i] and len(token) > 2:
                if token_lemmas is None:
                    token_lemmas = lemmas(raw)
                if self.unit_lemmas[i].intersection(token_lemmas):
                    best = (1, False)
            if best is not None:
                out.append((i, best[0], best[1]))
        return tuple(out) if out else NO_MATCH

    def _typos(self, word: str, token: str, *, prefix: bool) -> int | None:
        if prefix and token.startswith(word):
            return 0
        budget = typo_budget(word) if self.typo_tolerance else 0
        if not budget:
            return None
        if abs(len(token) - len(word)) <= budget:
            d = edit_distance(word, token)
            if d <= budget:
                return d
        if prefix and len(token) > len(word) - budget:
            best = min(
                edit_distance(word, token[:n])
                for n in range(max(1, len(word) - budget), min(len(token), len(word) + budget) + 1)
            )
            if best <= budget:
                return best
        return None


def rule_key(
    doc: TicketDocument, matcher: RuleMatcher, attributes: Sequence[str]
) -> tuple[int, int, int, int, int]:
    """(typos, proximity, attribute rank, first position, -exact words): smaller ranks first."""
    n = len(matcher.units)
    typos = [1 << 8] * n
    exact = [False] * n
    best_field = [len(attributes)] * n
    first_pos = [1 << 16] * n
    # positions[field][unit] = the word positions of the unit in that field
    positions: list[dict[int, list[int]]] = []
    for f, text in enumerate(_field_texts(doc, attributes)):
        per_unit: dict[int, list[int]] = {}
        if text:
            for pos, (token, start, end) in enumerate(cached_tokens(text)[:MAX_RANKED_TOKENS]):
                for unit, t, is_exact in matcher.match(token, text[start:end].lower()):
                    per_unit.setdefault(unit, []).append(pos)
                    if t < typos[unit]:
                        typos[unit] = t
                    exact[unit] = exact[unit] or is_exact
                    if f < best_field[unit]:
                        best_field[unit], first_pos[unit] = f, pos
        positions.append(per_unit)
    matched = [u for u in range(n) if best_field[u] < len(attributes)]
    proximity = 0
    for a, b in pairwise(matched):
        proximity += _pair_cost(positions, a, b)
    return (
        sum(typos[u] for u in matched),
        proximity,
        sum(best_field[u] for u in matched),
        min((first_pos[u] for u in matched), default=0),
        -sum(exact),
    )


def _pair_cost(positions: Sequence[dict[int, list[int]]], a: int, b: int) -> int:
    """Meilisearch's proximity of two query words: 0 when adjacent in order, up to 7 in one field
    (reversed order costs one more), 8 when they share no field."""
    best = OTHER_FIELD_PROXIMITY
    for per_unit in positions:
        pa, pb = per_unit.get(a), per_unit.get(b)
        if not pa or not pb:
            continue
        for x in pa:
            for y in pb:
                cost = y - x - 1 if y > x else x - y + 1
                if cost < best:
                    best = cost
                    if best == 0:
                        return 0
    return min(best, MAX_PROXIMITY) if best < OTHER_FIELD_PROXIMITY else best


def has_phrase(doc: TicketDocument, phrase: Sequence[str], attributes: Sequence[str]) -> bool:
    """True when the words of `phrase` (folded) stand side by side in one searchable field."""
    n = len(phrase)
    target = list(phrase)
    for text in _field_texts(doc, attributes):
        if not text:
            continue
        tokens = [t for t, _, _ in cached_tokens(text)]
        for i in range(len(tokens) - n + 1):
            if tokens[i] == target[0] and tokens[i : i + n] == target:
                return True
    return False
