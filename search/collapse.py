"""One answer, once: hits whose solutions say the same thing collapse into the best of them.

Tickets copied from one answer differ by a client's name, a date, a version number or a
greeting, rarely by the steps. Two solutions are the same when their normalised texts are equal
(folded, digits masked, punctuation and spacing ignored), or, for answers of at least
`MIN_WORDS` distinct words, when their word sets overlap by a Jaccard of `SAME_JACCARD` or more
(one or two words in ten may differ). A result list holds at most a few dozen hits, so every
pair is compared exactly; MinHash or SimHash only estimate that overlap, and they pay off for
millions of documents, not for one page. A short answer ("Zaktualizować program do 2025.3.")
must match exactly: one word of five is a different answer. Answers under `MIN_EXACT_WORDS`
words ("Zrobione.", "Poprawione") say nothing of the problem and never collapse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Final, TypeVar

from search.analysis import words

T = TypeVar("T")

COLLAPSE_WINDOW: Final = 3
"""Ranked tickets looked at per result wanted: copies of an answer are looked for among them
(a window of the page's size, so a deep offset costs no more than the first page)."""
SAME_JACCARD: Final = 0.8
MIN_WORDS: Final = 8
MIN_EXACT_WORDS: Final = 3
_DIGITS: Final = re.compile(r"\d+")


@lru_cache(maxsize=4096)
def normalised_words(solution: str) -> tuple[str, ...]:
    """The solution's folded words with every number as `0` (remembered: the same tickets
    come back keystroke after keystroke)."""
    return tuple(words(_DIGITS.sub("0", solution)))


def same_solution(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two normalised solutions are one answer (see the module's docstring)."""
    if len(a) < MIN_EXACT_WORDS or len(b) < MIN_EXACT_WORDS:
        return False
    if a == b:
        return True
    sa, sb = set(a), set(b)
    if min(len(sa), len(sb)) < MIN_WORDS:
        return False
    return len(sa & sb) / len(sa | sb) >= SAME_JACCARD


def collapse(hits: Sequence[T], solution_of: Callable[[T], str]) -> list[list[T]]:
    """Hits grouped by solution, in the order of each group's best hit; the first of a group is
    the one shown, the rest are its copies. Hits without a solution stay alone."""
    groups: list[list[T]] = []
    keys: list[tuple[str, ...]] = []
    for hit in hits:
        key = normalised_words(solution_of(hit))
        for group, group_key in zip(groups, keys, strict=True):
            if same_solution(key, group_key):
                group.append(hit)
                break
        else:
            groups.append([hit])
            keys.append(key)
    return groups


def page(
    ranked: Sequence[T], solution_of: Callable[[T], str], offset: int, limit: int, grouped: bool
) -> list[list[T]]:
    """The requested page of ranked items, each with its copies after it. `offset` counts
    items; with `grouped`, the page is the first `limit` groups of the `COLLAPSE_WINDOW` ×
    `limit` items from there (bounded whatever the offset), else one item per group."""
    if limit <= 0:
        return []
    offset = max(0, offset)
    if not grouped:
        return [[item] for item in ranked[offset : offset + limit]]
    window = ranked[offset : offset + limit * COLLAPSE_WINDOW]
    return collapse(window, solution_of)[:limit]
