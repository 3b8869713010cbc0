"""Folding, tokens, stems, typo budget and synonym grouping."""

from __future__ import annotations

import pytest

from search.analysis import (
    expand_synonyms,
    fold,
    matches_prefix,
    matches_with_typos,
    normalize_synonyms,
    stem_word,
    tokenize,
    typo_budget,
    words,
)


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
    assert stem_word("księgowania") == stem_word("ksiegowanie")


def test_synonyms_group_multiword_keys() -> None:
    syn = normalize_synonyms(
        {"KSeF": ["Krajowy System e-Faktur"], "krajowy system e-faktur": ["ksef"]}
    )
    units = expand_synonyms(["blad", "krajowy", "system", "e", "faktur"], syn)
    assert [u.words for u in units] == [("blad",), ("krajowy", "system", "e", "faktur")]
    assert units[1].alternatives == (("ksef",),)
