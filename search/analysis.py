"""Text analysis shared by every search backend: folding, tokens with offsets, stems, typos.

Both engines index the output of these functions (the embedded engine as its only text, the
Meilisearch engine as `*_f` shadow fields), so a word folds and stems the same way whichever
engine answers.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, product

import morfeusz2  # type: ignore[import-untyped]
import snowballstemmer

MAX_TOKEN_CHARS = 40
"""Longer tokens (base64 blobs, hashes) are dropped: nobody types them."""


def _build_fold_table() -> dict[int, str]:
    """Map every Latin letter with a diacritic to its base letter, one char to one char."""
    table: dict[int, str] = {}
    for code in range(0x00C0, 0x0250):
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if len(base) == 1 and base != char:
            table[code] = base.lower()
    # Letters with a stroke have no decomposition; folding them keeps offsets 1:1.
    for src, dst in {
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ø": "o",
        "Ø": "o",
        "ħ": "h",
        "Ħ": "h",
        "ŧ": "t",
        "Ŧ": "t",
        "ƀ": "b",
        "ɨ": "i",
        "İ": "i",
    }.items():
        table[ord(src)] = dst
    return table


_FOLD_TABLE = _build_fold_table()
_TOKEN_RE = re.compile(r"[^\W_]+")
_TOKEN_SPLIT_RE = re.compile(r"([^\W_]+)")


_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")


def _fold_char(m: re.Match[str]) -> str:
    char = m.group()
    return _FOLD_TABLE.get(ord(char), char)


def fold(text: str) -> str:
    """Lowercase and strip diacritics (ł→l too), keeping the length so offsets stay valid."""
    folded = text.lower()
    if folded.isascii():
        return folded
    # Only the few non-ASCII chars go through the table: far faster than translating all.
    folded = _NON_ASCII_RE.sub(_fold_char, folded)
    if len(folded) != len(text):  # a rare char whose lowercase is longer: fold it alone
        folded = "".join(c.translate(_FOLD_TABLE).lower()[:1] or c for c in text)
    return folded


Token = tuple[str, int, int]
"""A folded token and its start and end offsets in the original text."""


def tokenize(text: str) -> list[Token]:
    """Folded alphanumeric tokens with character offsets into `text`."""
    # Splitting with a capturing group alternates separator, token, separator, …; running
    # sums of the part lengths are the offsets. No Python code runs per token (highlighting
    # tokenizes every returned hit, on every keystroke).
    parts = _TOKEN_SPLIT_RE.split(fold(text))
    bounds = list(accumulate(map(len, parts)))
    tokens = list(zip(parts[1::2], bounds[0::2], bounds[1::2], strict=False))
    if max(map(len, parts[1::2]), default=0) > MAX_TOKEN_CHARS:
        tokens = [t for t in tokens if t[2] - t[1] <= MAX_TOKEN_CHARS]
    return tokens


@lru_cache(maxsize=8192)
def term_counts(text: str) -> Counter[str]:
    """How often each folded word occurs in `text` (cached: rerankers read the same tickets)."""
    return Counter(words(text))


def words(text: str) -> list[str]:
    """Folded tokens only."""
    return [t for t in _TOKEN_RE.findall(fold(text)) if len(t) <= MAX_TOKEN_CHARS]


def folded_text(text: str) -> str:
    """Folded tokens joined by single spaces: what engines index (whitespace tokenizer)."""
    return " ".join(words(text))


_STEMMER = snowballstemmer.stemmer("polish")
_RAW_WORD_RE = re.compile(r"[^\W_]+")
_MORFEUSZ = morfeusz2.Morfeusz(generate=False, expand_tags=False)
_MORFEUSZ_LOCK = threading.Lock()
"""One analyser for the process; its C++ state is not documented as thread-safe."""


MORPHOLOGIES = ("morfeusz", "snowball")
_morphology = ["morfeusz"]


def use_morphology(name: str) -> None:
    """Which analysis `lemmas` runs: `morfeusz` (the default) or `snowball` (a baseline that
    benchmarks compare against); forgets what was cached under the other."""
    if name not in MORPHOLOGIES:
        raise ValueError(f"morphology must be one of {', '.join(MORPHOLOGIES)}")
    _morphology[0] = name
    lemmas.cache_clear()
    _stem_token.cache_clear()


@lru_cache(maxsize=200_000)
def lemmas(word: str) -> tuple[str, ...]:
    """Every dictionary lemma of one lowercase word, folded, sorted, common words before names.

    Morfeusz 2 (SGJP) first: an ambiguous form keeps all its lemmas (`listy` → lista, list).
    A form it does not know gets Snowball's stem (simplemma would know more of them, but loading
    its Polish data costs 5 s of CPU on first use: too slow for a search box). Short words and
    numbers are their own lemma.
    """
    if len(word) <= 2 or word.isdigit():
        return (fold(word),)
    if _morphology[0] == "snowball":
        return (snowball_stem(word),)
    with _MORFEUSZ_LOCK:
        interpretations = _MORFEUSZ.analyse(word)
    common: dict[str, None] = {}
    names: dict[str, None] = {}
    for _start, _end, (_orth, lemma, tag, *_rest) in interpretations:
        if tag == "ign":
            continue
        base = lemma.split(":", 1)[0]
        (names if base[:1].isupper() else common)[fold(base)] = None
    # Sorted: two forms with the same candidates (księgowania, księgowanie) agree on the first.
    found = tuple(sorted(common)) + tuple(sorted(n for n in names if n not in common))
    if found:
        return found
    return (snowball_stem(word),)


def stem_word(word: str) -> str:
    """The first lemma of one lowercase word, folded: `fakturze`, `faktury`, `fakturą` → faktura."""
    return lemmas(word)[0]


def snowball_stem(word: str) -> str:
    """Snowball's Polish stem, folded: the baseline the lemmatiser is measured against."""
    if len(word) <= 3 or word.isdigit():
        return fold(word)
    return fold(_STEMMER.stemWord(word))


def stems(text: str) -> list[str]:
    """The first lemma of every word of `text` (found before folding: the dictionary knows ą, ł)."""
    return [stem_word(w) for w in _RAW_WORD_RE.findall(text.lower()) if len(w) <= MAX_TOKEN_CHARS]


def stemmed_text(text: str) -> str:
    """Every lemma of every word, joined by spaces: the lemma shadow field (whitespace tokens)."""
    return stemmed_words(_RAW_WORD_RE.findall(text.lower()))


def stemmed_words(raw_words: Iterable[str]) -> str:
    """`stemmed_text` of words a faster tokenizer already split and lowercased (not folded)."""
    return " ".join(map(_stem_token, raw_words))


@lru_cache(maxsize=200_000)
def _stem_token(word: str) -> str:
    """All lemmas of a word, or nothing for an over-long token; cached on the raw word."""
    return " ".join(lemmas(word)) if len(word) <= MAX_TOKEN_CHARS else ""


_RESTORABLE = {
    "a": "ą",
    "c": "ć",
    "e": "ę",
    "l": "ł",
    "n": "ń",
    "o": "ó",
    "s": "ś",
    "z": "źż",
}
MAX_RESTORATIONS = 512
"""Longer folded words with many foldable letters are not restored (too many spellings)."""


def diacritic_spellings(folded: str) -> list[str]:
    """Every Polish spelling that folds to `folded`, except itself (`placach` → `płacach`, …).

    Empty when there would be more than `MAX_RESTORATIONS`.
    """
    options = [c + _RESTORABLE.get(c, "") for c in folded]
    total = 1
    for o in options:
        total *= len(o)
        if total > MAX_RESTORATIONS:
            return []
    return ["".join(p) for p in product(*options)][1:]


def typo_budget(word: str) -> int:
    """Typos allowed in a query word, Meilisearch's defaults: 0 up to 4 chars, 1 up to 8, else 2."""
    n = len(word)
    if n <= 4:
        return 0
    if n <= 8:
        return 1
    return 2


@lru_cache(maxsize=100_000)
def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insert, delete, substitute, swap neighbours = 1."""
    if a == b:
        return 0
    la, lb = len(a), len(b)
    if not la or not lb:
        return la or lb
    prev2: list[int] = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        ca = a[i - 1]
        for j in range(1, lb + 1):
            cost = 0 if ca == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        prev2, prev = prev, cur
    return prev[lb]


TYPO_MARK = "|"
"""Never inside a token (tokens are letters and digits): see `typo_key`."""


def typo_key(word: str) -> str:
    """A folded word as the embedded engine's typo field holds it: first letter, mark, word.

    Meilisearch counts a wrong first letter as two typos (milli's `compute_derivations`: a
    5-8 letter word takes only derivations with its first letter; a 9+ letter one takes other
    first letters at distance 1 only). The edit distance between two keys is exactly
    `typo_count` of their words, so tantivy's typo automaton applies the same rule.
    """
    return f"{word[:1]}{TYPO_MARK}{word}"


def typo_count(query_word: str, token: str) -> int:
    """Typos between a query word and a token, as Meilisearch counts them (a wrong first
    letter counts as two)."""
    return edit_distance(query_word, token) + (query_word[:1] != token[:1])


def _too_many_missing_letters(a: str, b: str, budget: int) -> bool:
    """A cheap lower bound of the edit distance says `a` and `b` are more than `budget` apart.

    Every letter kind of `a` absent from `b` needs its own delete or substitution (and the
    other way round, its own insert or substitution); a swap adds none. Rejects most pairs
    without the quadratic `edit_distance`.
    """
    sa, sb = set(a), set(b)
    return len(sa - sb) > budget or len(sb - sa) > budget


def matches_with_typos(query_word: str, token: str, *, allow_typos: bool = True) -> bool:
    """True when `token` equals `query_word` within the word's typo budget."""
    if token == query_word:
        return True
    if not allow_typos:
        return False
    budget = typo_budget(query_word)
    if budget == 0 or abs(len(token) - len(query_word)) > budget:
        return False
    if _too_many_missing_letters(query_word, token, budget):
        return False
    return typo_count(query_word, token) <= budget


def matches_prefix(query_word: str, token: str, *, allow_typos: bool = True) -> bool:
    """True when `token` starts with `query_word` (with the word's typo budget on the prefix)."""
    if token.startswith(query_word):
        return True
    if not allow_typos or len(token) < len(query_word):
        return False
    budget = typo_budget(query_word)
    if budget == 0:
        return False
    # Every candidate prefix lies within this head: if the query word's letters are too far
    # from the head's, no prefix can be close enough.
    if len(set(query_word) - set(token[: len(query_word) + budget])) > budget:
        return False
    return any(
        typo_count(query_word, token[:n]) <= budget
        for n in range(max(1, len(query_word) - budget), len(query_word) + budget + 1)
        if n <= len(token)
    )


def normalize_synonyms(synonyms: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Fold keys and values so synonyms match folded query words."""
    out: dict[str, list[str]] = {}
    for key, values in synonyms.items():
        k = folded_text(key)
        if not k:
            continue
        vals = [folded_text(v) for v in values]
        out.setdefault(k, [])
        out[k].extend(v for v in vals if v and v != k and v not in out[k])
    return out


@dataclass(frozen=True, slots=True)
class QueryUnit:
    """One word of a query, a run of words a synonym covers, or a quoted phrase."""

    words: tuple[str, ...]
    alternatives: tuple[tuple[str, ...], ...] = ()
    phrase: bool = False
    """A quoted phrase: its words (stop words too) must stand side by side, exact."""
    raw: tuple[str, ...] = ()
    """The words as typed, lowercase with their diacritics (for lemmas)."""

    @property
    def all_words(self) -> Iterator[str]:
        yield from self.words
        for alt in self.alternatives:
            yield from alt


_PHRASE_RE = re.compile(r'"([^"]*)"?')


def parse_query(
    q: str,
    stop_words: Iterable[str],
    synonyms: Mapping[str, Sequence[str]],
    max_words: int = 10,
) -> list[QueryUnit]:
    """A consultant's query as units: free words (stop words out, unless nothing else is left)
    grouped by synonyms, and quoted phrases kept whole. At most `max_words` words.

    `synonyms` must be normalised (see `normalize_synonyms`).
    """
    stop = set(stop_words)
    segments: list[tuple[bool, list[tuple[str, str]]]] = []
    pos = 0
    for m in _PHRASE_RE.finditer(q):
        segments.append((False, _raw_tokens(q[pos : m.start()])))
        segments.append((True, _raw_tokens(m.group(1))))
        pos = m.end()
    segments.append((False, _raw_tokens(q[pos:])))
    budget = max_words
    kept: list[tuple[bool, list[tuple[str, str]]]] = []
    for is_phrase, tokens in segments:
        tokens = tokens[:budget]
        budget -= len(tokens)
        if tokens:
            kept.append((is_phrase, tokens))
    free_words = [w for is_phrase, toks in kept if not is_phrase for w, _ in toks]
    drop_stop = any(w not in stop for w in free_words) or any(p for p, _ in kept)
    units: list[QueryUnit] = []
    for is_phrase, tokens in kept:
        if is_phrase and len(tokens) > 1:
            units.append(
                QueryUnit(tuple(w for w, _ in tokens), phrase=True, raw=tuple(r for _, r in tokens))
            )
            continue
        if drop_stop and not is_phrase:
            tokens = [t for t in tokens if t[0] not in stop]
        raw_of = dict(tokens)
        for unit in expand_synonyms([w for w, _ in tokens], synonyms):
            units.append(
                QueryUnit(
                    unit.words, unit.alternatives, raw=tuple(raw_of.get(w, w) for w in unit.words)
                )
            )
    return units


def _raw_tokens(text: str) -> list[tuple[str, str]]:
    """(folded, lowercase as typed) for every word of `text`."""
    return [(t, text[s:e].lower()) for t, s, e in tokenize(text)]


def expand_synonyms(
    query_words: Sequence[str], synonyms: Mapping[str, Sequence[str]]
) -> list[QueryUnit]:
    """Group query words into units; a run that is a synonym key gets its synonyms as options.

    `synonyms` must be normalised (see `normalize_synonyms`). Longest key wins.
    """
    if not synonyms:
        return [QueryUnit((w,)) for w in query_words]
    max_len = max(len(k.split()) for k in synonyms)
    units: list[QueryUnit] = []
    i = 0
    while i < len(query_words):
        for n in range(min(max_len, len(query_words) - i), 0, -1):
            key = " ".join(query_words[i : i + n])
            if key in synonyms:
                alts = tuple(tuple(v.split()) for v in synonyms[key])
                units.append(QueryUnit(tuple(query_words[i : i + n]), alts))
                i += n
                break
        else:
            units.append(QueryUnit((query_words[i],)))
            i += 1
    return units


def remove_stop_words(query_words: Sequence[str], stop_words: Iterable[str]) -> list[str]:
    """Drop stop words, unless that would leave nothing."""
    stop = set(stop_words)
    kept = [w for w in query_words if w not in stop]
    return kept or list(query_words)
