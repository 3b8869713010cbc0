"""Highlighting and cropping from our own analyzer offsets (works for typo and prefix hits).

The stored text is HTML-escaped first and the tags added after: a ticket that holds
`<img src=x onerror=…>` comes back as text, whoever renders the hit.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from search.analysis import (
    QueryUnit,
    Token,
    matches_prefix,
    stem_word,
    tokenize,
    typo_budget,
    typo_count,
)
from search.documents import TicketDocument
from search.ports import HitCopy, SearchHit

MAX_CROP_SOURCE_CHARS = 20_000
"""A snippet is looked for in the first this many characters (stack traces run long)."""


@dataclass(slots=True)
class QueryMatcher:
    """Decides which document tokens a query matched: exact, typo, prefix (last word), stem."""

    units: Sequence[QueryUnit]
    typo_tolerance: bool = True
    stop_words: frozenset[str] = frozenset()
    """Never highlighted, even where a query word matches them."""
    _exact: set[str] = field(default_factory=set)
    _fuzzy: list[str] = field(default_factory=list)
    _prefix: str = ""
    _stems: set[str] = field(default_factory=set)
    _cache: dict[str, bool] = field(default_factory=dict)
    _typo_words: list[tuple[str, int, frozenset[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for unit in self.units:
            for word in unit.all_words:
                self._exact.add(word)
                self._stems.add(stem_word(word))
                self._fuzzy.append(word)
        if self.units and len(self.units[-1].words) == 1 and not self.units[-1].alternatives:
            self._prefix = self.units[-1].words[0]
        if self.typo_tolerance:
            self._typo_words = [
                (w, typo_budget(w), frozenset(w))
                for w in dict.fromkeys(self._fuzzy)
                if typo_budget(w)
            ]

    def hits(self, tokens: Sequence[Token]) -> list[bool]:
        """`matches` for every token, deciding each distinct word once."""
        decided = self._cache
        for word in {t[0] for t in tokens}.difference(decided):
            self.matches(word)
        return [decided[t[0]] for t in tokens]

    def matches(self, token: str) -> bool:
        """True when `token` (folded) is a hit for this query."""
        hit = self._cache.get(token)
        if hit is None:
            typos = self.typo_tolerance
            hit = token not in self.stop_words and (
                token in self._exact
                or (bool(self._prefix) and matches_prefix(self._prefix, token, allow_typos=typos))
                or self._typo_match(token)
                or (len(token) > 3 and stem_word(token) in self._stems)
            )
            self._cache[token] = hit
        return hit

    def _typo_match(self, token: str) -> bool:
        """`matches_with_typos` against any query word, with the cheap rejects hoisted."""
        n = len(token)
        letters: set[str] | None = None
        for word, budget, word_letters in self._typo_words:
            if abs(n - len(word)) > budget:
                continue
            if letters is None:
                letters = set(token)
            if len(word_letters - letters) > budget or len(letters - word_letters) > budget:
                continue
            if typo_count(word, token) <= budget:
                return True
        return False


@lru_cache(maxsize=16_384)
def cached_tokens(text: str) -> tuple[Token, ...]:
    """`tokenize`, remembered: the same top tickets come back keystroke after keystroke.

    A tuple of tuples of strings and ints: the garbage collector stops tracking those once it
    has seen them, so thousands of remembered texts add nothing to its full passes.
    """
    return tuple(tokenize(text))


def highlight(text: str, matcher: QueryMatcher, pre: str, post: str) -> str:
    """The whole text with every matched token wrapped in `pre`/`post`."""
    tokens = cached_tokens(text)
    return _render(text, tokens, matcher, 0, None, pre, post, matcher.hits(tokens))


def crop(text: str, matcher: QueryMatcher, crop_words: int, pre: str, post: str) -> tuple[str, int]:
    """The best `crop_words`-word window of `text`, highlighted, and how many hits it holds."""
    tokens = cached_tokens(text[:MAX_CROP_SOURCE_CHARS])
    if not tokens:
        return "", 0
    hits = matcher.hits(tokens)
    n = max(1, crop_words)
    best_start, best_count = 0, sum(hits[:n])
    if best_count < sum(hits):  # another window may hold more: slide over the rest
        count = best_count
        for start in range(1, max(1, len(tokens) - n + 1)):
            count += hits[start + n - 1] - hits[start - 1]
            if count > best_count:
                best_start, best_count = start, count
    if best_count and best_start > 0:
        # Start a couple of words before the first hit so the match reads in context.
        first_hit = next(i for i in range(best_start, len(tokens)) if hits[i])
        best_start = max(0, min(best_start, first_hit - 2))
    end = min(len(tokens), best_start + n)
    return _render(text, tokens, matcher, best_start, end, pre, post, hits), best_count


def _render(
    text: str,
    tokens: Sequence[Token],
    matcher: QueryMatcher,
    start: int,
    end: int | None,
    pre: str,
    post: str,
    hits: list[bool] | None = None,
) -> str:
    escape = html.escape
    if not tokens:
        return escape(text)
    stop = len(tokens) if end is None else end
    cropped = end is not None
    pos = tokens[start][1] if cropped else 0
    out: list[str] = ["…"] if cropped and start > 0 else []
    for i in range(start, stop):
        word, tok_start, tok_end = tokens[i]
        hit = hits[i] if hits is not None else matcher.matches(word)
        if not hit:
            continue
        out.append(escape(text[pos:tok_start]))
        out.append(pre + escape(text[tok_start:tok_end]) + post)
        pos = tok_end
    tail_end = tokens[stop - 1][2] if cropped else len(text)
    out.append(escape(text[pos:tail_end]))
    if cropped and stop < len(tokens):
        out.append("…")
    return "".join(out)


class HitShape(Protocol):
    """What a request says about the look of its hits (`SearchRequest`, `SimilarRequest`)."""

    highlight_pre_tag: str
    highlight_post_tag: str
    crop_length: int


def build_hit(
    doc: TicketDocument,
    score: float,
    matcher: QueryMatcher,
    shape: HitShape,
    text_cosine: float = 0.0,
    copies: Sequence[TicketDocument] = (),
) -> SearchHit:
    """A hit with the title highlighted and the best cropped window of description/solution."""
    pre, post, crop_words = shape.highlight_pre_tag, shape.highlight_post_tag, shape.crop_length
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
        resolution=doc.resolution,
        text_cosine=text_cosine,
        copies=[HitCopy(c.id, c.number, c.title) for c in copies],
    )
