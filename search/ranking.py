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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from search.analysis import (
    MAX_TOKEN_CHARS,
    QueryUnit,
    fold,
    lemmas,
    tokenize,
    typo_budget,
    typo_count,
)
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


_WORD_RE = re.compile(r"[^\W_]+")
"""`search.analysis` tokens: folding maps letters to letters, so the lowercase text splits
into the same words as the folded one."""


def field_words(text: str) -> list[str]:
    """The words of one field in order, lowercase as written (the first `MAX_RANKED_TOKENS`
    of what `tokenize` finds). Split by the regex engine, without a Python step per word:
    the rules read every candidate's fields on every keystroke."""
    lower = text.lower()
    if len(lower) != len(text):  # a rare char whose lowercase is longer: go by the offsets
        return [text[start:end].lower() for _, start, end in tokenize(text)[:MAX_RANKED_TOKENS]]
    raws: list[str] = _WORD_RE.findall(lower)
    if max(map(len, raws), default=0) > MAX_TOKEN_CHARS:
        raws = [r for r in raws if len(r) <= MAX_TOKEN_CHARS]
    return raws[:MAX_RANKED_TOKENS]


def _positions(raws: list[str], raw: str) -> list[int]:
    """Where `raw` stands in `raws` (the list's own search finds each place)."""
    found = [raws.index(raw)]
    while True:
        try:
            found.append(raws.index(raw, found[-1] + 1))
        except ValueError:
            return found


@dataclass(slots=True)
class RuleMatcher:
    """How each document word matched the query's units: (unit, typos, exact), decided once."""

    units: Sequence[QueryUnit]
    unit_lemmas: Sequence[frozenset[str]]
    typo_tolerance: bool = True
    prefix_last: bool = True
    _cache: dict[str, tuple[tuple[int, int, bool], ...]] = field(default_factory=dict)
    _words: list[tuple[int, str, int, frozenset[str], bool]] = field(default_factory=list)
    _matched: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        last = len(self.units) - 1
        for i, unit in enumerate(self.units):
            for word in unit.all_words:
                budget = typo_budget(word) if self.typo_tolerance else 0
                self._words.append(
                    (i, word, budget, frozenset(word), self.prefix_last and i == last)
                )

    def match(self, token: str, raw: str) -> tuple[tuple[int, int, bool], ...]:
        """The units `token` (folded; `raw` as written, lowercase) matches, best way each."""
        found = self._cache.get(raw)
        if found is None:
            found = self._cache[raw] = self._decide(token, raw)
            if found:
                self._matched.add(raw)
        return found

    def matching(self, words: set[str]) -> list[tuple[str, tuple[tuple[int, int, bool], ...]]]:
        """The words of a field that match some unit, with how. Each distinct word is decided
        once per query; after the first few candidates nearly every word is known, and what
        is left is set arithmetic, not a loop over the field's words."""
        cache = self._cache
        for raw in words.difference(cache):  # runs over the field's words, not the cache
            self.match(fold(raw), raw)
        return [(raw, cache[raw]) for raw in self._matched.intersection(words)]

    def _decide(self, token: str, raw: str) -> tuple[tuple[int, int, bool], ...]:
        best: dict[int, tuple[int, bool]] = {}
        letters = frozenset(token)
        n = len(token)
        for i, word, budget, word_letters, prefix in self._words:
            if token == word:
                best[i] = (0, True)
                continue
            if i in best and best[i][0] == 0:
                continue
            typos = _typos(word, token, n, budget, word_letters, letters, prefix)
            if typos is not None and (i not in best or typos < best[i][0]):
                best[i] = (typos, False)
        if len(token) > 2:
            token_lemmas: tuple[str, ...] | None = None
            for i, unit_lemmas in enumerate(self.unit_lemmas):
                if i in best or not unit_lemmas:
                    continue
                if token_lemmas is None:
                    token_lemmas = lemmas(raw)
                if unit_lemmas.intersection(token_lemmas):
                    best[i] = (1, False)
        if not best:
            return NO_MATCH
        return tuple((i, t, e) for i, (t, e) in sorted(best.items()))


def _typos(
    word: str,
    token: str,
    n: int,
    budget: int,
    word_letters: frozenset[str],
    letters: frozenset[str],
    prefix: bool,
) -> int | None:
    """Typos between a query word and a token (as a prefix when `prefix`), None past budget."""
    if prefix and token.startswith(word):
        return 0
    if not budget:
        return None
    if (
        abs(n - len(word)) <= budget
        and len(word_letters - letters) <= budget
        and len(letters - word_letters) <= budget
    ):
        d = typo_count(word, token)
        if d <= budget:
            return d
    if prefix and n > len(word) - budget:
        head = token[: len(word) + budget]
        if len(word_letters - frozenset(head)) > budget:
            return None
        best = min(
            typo_count(word, token[:k])
            for k in range(max(1, len(word) - budget), min(n, len(word) + budget) + 1)
        )
        if best <= budget:
            return best
    return None


def rule_key(
    doc: TicketDocument, matcher: RuleMatcher, attributes: Sequence[str]
) -> tuple[int, int, int, int, bool, int]:
    """(typos, proximity, attribute rank, first position, not a whole field, -exact words):
    smaller ranks first. Exactness first asks whether a field holds the query and nothing
    else (Meilisearch's exact attribute; here a cut last word still counts), then how many
    words were typed as they stand."""
    n = len(matcher.units)
    typos = [1 << 8] * n
    exact = [False] * n
    best_field = [len(attributes)] * n
    first_pos = [1 << 16] * n
    # positions[field][unit] = the word positions of the unit in that field
    positions: list[dict[int, list[int]]] = []
    whole_field = False
    for f, text in enumerate(_field_texts(doc, attributes)):
        per_unit: dict[int, list[int]] = {}
        positions.append(per_unit)
        if not text:
            continue
        raws = field_words(text)
        covered = 0
        for raw, found in matcher.matching(set(raws)):
            where = _positions(raws, raw)
            covered += len(where)
            for unit, t, is_exact in found:
                per_unit.setdefault(unit, []).extend(where)
                if t < typos[unit]:
                    typos[unit] = t
                if is_exact:
                    exact[unit] = True
                if f < best_field[unit]:
                    best_field[unit], first_pos[unit] = f, where[0]
                elif f == best_field[unit] and where[0] < first_pos[unit]:
                    first_pos[unit] = where[0]
        whole_field = whole_field or (covered == len(raws) and len(per_unit) == n)
    matched = [u for u in range(n) if best_field[u] < len(attributes)]
    proximity = 0
    for a, b in pairwise(matched):
        proximity += _pair_cost(positions, a, b)
    return (
        sum(typos[u] for u in matched),
        proximity,
        sum(best_field[u] for u in matched),
        min((first_pos[u] for u in matched), default=0),
        not whole_field,
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
