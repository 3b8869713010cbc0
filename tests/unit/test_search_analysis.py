"""Folding, tokens, stems, typo budget and synonym grouping."""

from __future__ import annotations

import random

import pytest

from search.analysis import (
    diacritic_spellings,
    edit_distance,
    expand_synonyms,
    fold,
    lemmas,
    matches_prefix,
    matches_with_typos,
    normalize_synonyms,
    snowball_stem,
    stem_word,
    stemmed_text,
    tokenize,
    typo_budget,
    typo_count,
    typo_key,
    words,
)
from search.embedded import _analyzer
from search.layout import StemCache
from tools.search_bench import morphology_pairs, score_morphology


def test_fold_strips_polish_diacritics_including_l_stroke() -> None:
    assert fold("Łódź ŻÓŁĆ zażółć gęślą jaźń") == "lodz zolc zazolc gesla jazn"


def test_fold_keeps_offsets() -> None:
    text = "Błąd: łączenie z ŁÓDŹ"
    assert len(fold(text)) == len(text)
    tokens = tokenize(text)
    assert [(t, text[s:e]) for t, s, e in tokens] == [
        ("blad", "Błąd"),
        ("laczenie", "łączenie"),
        ("z", "z"),
        ("lodz", "ŁÓDŹ"),
    ]


def test_words_split_on_punctuation() -> None:
    assert words("C++ (x") == ["c", "x"]
    assert words('"-"') == []
    assert words("https://pomoc.enova.pl/baza/123") == [
        "https",
        "pomoc",
        "enova",
        "pl",
        "baza",
        "123",
    ]


@pytest.mark.parametrize(
    ("word", "budget"),
    [("vat", 0), ("ksef", 0), ("faktu", 1), ("faktura", 1), ("deklarac", 1), ("deklaracja", 2)],
)
def test_typo_budget_by_length(word: str, budget: int) -> None:
    assert typo_budget(word) == budget


def test_swap_counts_as_one_typo() -> None:
    assert matches_with_typos("urlpo", "urlop")
    assert matches_with_typos("faktrua", "faktura")
    assert not matches_with_typos("fktra", "faktura")  # two edits on a 5-letter word
    assert not matches_with_typos("pit", "pot")


def test_prefix_match_allows_the_budget_on_the_prefix() -> None:
    assert matches_prefix("fakt", "faktura")
    assert matches_prefix("fatku", "faktura")
    assert not matches_prefix("fakt", "fa")


def test_stems_join_polish_forms() -> None:
    assert (
        stem_word("faktury")
        == stem_word("fakturze")
        == stem_word("fakturą")
        == stem_word("faktura")
    )
    assert stem_word("księgowania") == stem_word("księgowanie")


def test_lemmas_come_from_the_dictionary_not_from_cut_endings() -> None:
    assert stem_word("korekcie") == "korekta"  # Snowball: korek (a cork)
    assert snowball_stem("korekcie") == "korek"
    assert stem_word("płacach") == "placa"  # folded lemma: płaca
    assert lemmas("listy") == ("list", "lista")  # ambiguous: every lemma
    assert lemmas("ksiegowania") == ("ksiegowan",)  # unknown to Morfeusz: Snowball


def test_diacritic_spellings_of_a_folded_word() -> None:
    spellings = diacritic_spellings("placach")
    assert "płacach" in spellings and "placach" not in spellings
    assert diacritic_spellings("z" * 12) == []  # too many to try


def test_synonyms_group_multiword_keys() -> None:
    syn = normalize_synonyms(
        {"KSeF": ["Krajowy System e-Faktur"], "krajowy system e-faktur": ["ksef"]}
    )
    units = expand_synonyms(["blad", "krajowy", "system", "e", "faktur"], syn)
    assert [u.words for u in units] == [("blad",), ("krajowy", "system", "e", "faktur")]
    assert units[1].alternatives == (("ksef",),)


def _meili_typos(query_word: str, token: str) -> int:
    """Meilisearch's count: the edit distance, and a wrong first letter costs one more."""
    return edit_distance(query_word, token) + (query_word[:1] != token[:1])


def _prefix_within_budget(query_word: str, token: str) -> bool:
    """The plain definition: the token starts with the word, give or take the word's typos."""
    if token.startswith(query_word):
        return True
    budget = typo_budget(query_word)
    return len(token) >= len(query_word) and any(
        _meili_typos(query_word, token[:n]) <= budget
        for n in range(max(1, len(query_word) - budget), len(query_word) + budget + 1)
        if n <= len(token)
    )


def test_quick_typo_rejects_never_change_the_answer() -> None:
    rnd = random.Random(5)
    for _ in range(3000):
        a = "".join(rnd.choices("abcde", k=rnd.randint(1, 10)))
        b = "".join(rnd.choices("abcde", k=rnd.randint(1, 12)))
        assert matches_with_typos(a, b) == (a == b or _meili_typos(a, b) <= typo_budget(a))
        assert matches_prefix(a, b) == _prefix_within_budget(a, b)


def test_the_typo_keys_distance_is_meilisearchs_typo_count() -> None:
    # The embedded engine runs tantivy's plain typo automaton on `typo_key`s: the distance
    # between two keys must be Meilisearch's count for every pair of words, and a prefix of
    # a key past its mark must be the key of the word's prefix. The typo field is also the
    # combined field of exact and prefix matches, so keys are one to one and keep prefixes.
    rnd = random.Random(7)
    for _ in range(3000):
        a = "".join(rnd.choices("abc", k=rnd.randint(1, 8)))
        b = "".join(rnd.choices("abc", k=rnd.randint(1, 9)))
        assert edit_distance(typo_key(a), typo_key(b)) == typo_count(a, b) == _meili_typos(a, b)
        assert (typo_key(a) == typo_key(b)) == (a == b)
        assert typo_key(a).startswith(typo_key(b)) == a.startswith(b)
        for n in range(1, len(b) + 1):
            assert typo_key(b)[: n + 2] == typo_key(b[:n])
    assert not matches_with_typos("korekta", "porekta"), "5-8 letters: never the first letter"
    assert matches_with_typos("drukowanie", "trukowanie"), "9+: the first letter spends both"
    assert not matches_with_typos("drukowanie", "trukowanje")
    assert not matches_prefix("korek", "porekta")


def test_tokenize_drops_overlong_tokens_and_keeps_offsets() -> None:
    text = "ab " + "x" * 41 + " żółć_" + "y" * 40
    assert [(t, text[s:e]) for t, s, e in tokenize(text)] == [
        ("ab", "ab"),
        ("zolc", "żółć"),
        ("y" * 40, "y" * 40),
    ]


def test_the_embedded_index_splits_and_folds_like_the_query_side() -> None:
    text = "Błąd łączenia z KSeF (ŁÓDŹ), faktura_korekta nr 48213: https://pomoc.enova.pl/x?y=1"
    assert _analyzer().analyze(text + " " + "z" * 41) == words(text)


def test_stems_cached_per_chunk_are_the_stems_of_the_whole_text() -> None:
    text = "Fakturze, faktury;FAKTURĄ — błąd:KSeF 2504.3 w Łodzi " + "x" * 50
    cache = StemCache(max_size=3)
    assert cache.stems_of(text).split() == stemmed_text(text).split()
    assert len(cache) <= 3  # bounded: emptied when full
    assert cache.stems_of(text).split() == stemmed_text(text).split()
    assert cache.spellings_of(text).split() == ["fakturą", "błąd", "łodzi"]


def test_the_dictionary_beats_snowball_on_the_support_word_table() -> None:
    pairs = morphology_pairs()
    assert len(pairs) >= 300
    by_name = {m.morphology: m for m in score_morphology(pairs)}
    morfeusz, snowball = by_name["morfeusz"], by_name["snowball"]
    assert morfeusz.joined >= 0.98 and snowball.joined < 0.85
    assert morfeusz.false_merges < snowball.false_merges
    assert stem_word("korekcie") == "korekta"  # the switch back to the dictionary happened
