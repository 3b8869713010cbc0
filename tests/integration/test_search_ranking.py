"""Meilisearch's ranking rules, one test per rule showing that it decides, on every engine.

Each pair of tickets ties on the rules before the one under test and leans the other way on
everything after it (BM25 over descriptions, verified, reused), so only that rule can put
the expected ticket first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from search.documents import TicketDocument
from search.ports import IndexSettings, SearchEngine, SearchRequest
from tests.integration.test_search_contract import BACKENDS, open_test_engine


def _doc(id: int, title: str, description: str = "", **kw: object) -> TicketDocument:
    return TicketDocument(id=id, number=f"ZS/2026/{id}", title=title, description=description, **kw)  # type: ignore[arg-type]


FILLER = [
    _doc(100 + i, f"Zgłoszenie {i} bez związku", "Inny temat, inna sprawa.") for i in range(20)
]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchEngine]:
    eng = open_test_engine(request.param, tmp_path)
    eng.wait(eng.configure(IndexSettings()), 120)
    eng.wait(eng.upsert(FILLER), 120)
    yield eng
    eng.close()


def ids(engine: SearchEngine, docs: list[TicketDocument], q: str, **kw: object) -> list[int]:
    engine.wait(engine.upsert(docs), 120)
    return [h.id for h in engine.search(SearchRequest(q=q, **kw)).hits]  # type: ignore[arg-type]


def test_words_more_query_words_matched_first(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Korekta faktury zaliczkowej", "Korekta, korekta, korekta faktury."),
        _doc(2, "Korekta faktury zaliczkowej w walucie", "Nic więcej.", verified=True),
    ]
    found = ids(engine, docs, "korekta faktury walucie", matching_strategy="last")
    assert found[:2] == [2, 1]


def test_frequency_strategy_drops_the_commonest_word_first(engine: SearchEngine) -> None:
    docs = [_doc(10 + i, f"Błąd numer {i} w module Handel", "Błąd programu.") for i in range(6)]
    docs.append(_doc(20, "Pusty wydruku raportu", "Raport drukuje się pusty."))
    found = ids(engine, docs, "blad wydruku")
    assert found[:1] == [20]  # no ticket has both: "błąd" (in 6) gives way to "wydruku"
    last = ids(engine, docs, "blad wydruku", matching_strategy="last")
    assert 20 not in last[:6]  # Meilisearch's `last` keeps "błąd" instead


def test_typo_fewer_typos_first(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Zmiana stawku podatku", "Stawku, stawku.", verified=True, reuse_count=9),
        _doc(2, "Kartoteka towaru", "Zmiana stawki podatku w kartotece."),
    ]
    # Typo decides before attribute: the exact word in the description beats the title's typo.
    assert ids(engine, docs, "stawki podatku")[:2] == [2, 1]


def test_proximity_query_words_together_first(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Pytanie o wydruk raportu faktury", "Klient pyta."),
        _doc(
            2,
            "Pytanie faktury klienta raportu o wydruk",
            "Pytanie faktury, pytanie faktury, wydruk raportu, pytanie faktury raportu.",
            verified=True,
            reuse_count=20,
        ),
    ]
    assert ids(engine, docs, "pytnaie o wydruk raportu faktu")[:2] == [1, 2]


def test_attribute_title_before_keywords_before_description(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Import wyciągu", "Krótko."),
        _doc(
            2,
            "Inna sprawa",
            "Import wyciągu, import wyciągu.",
            keywords=["import wyciągu"],
            verified=True,
            reuse_count=20,
        ),
        _doc(
            3,
            "Jeszcze inna sprawa",
            "Import wyciągu, import wyciągu, import wyciągu.",
            verified=True,
            reuse_count=30,
        ),
    ]
    assert ids(engine, docs, "import wyciągu")[:3] == [1, 2, 3]


def test_exactness_typed_words_before_prefixes(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Drukarka fiskalna", "Opis.", verified=True, reuse_count=40),
        _doc(2, "Druk fiskalny", "Opis."),
    ]
    assert ids(engine, docs, "druk")[:2] == [2, 1]


def test_a_lemma_match_ranks_below_the_typed_form(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Błąd w fakturze", "Opis.", verified=True, reuse_count=40),
        _doc(2, "Błąd w faktury", "Opis."),
    ]
    assert ids(engine, docs, "faktury")[:2] == [2, 1]


def test_a_folded_query_word_takes_the_lemma_of_the_spelling_the_index_has_seen(
    engine: SearchEngine,
) -> None:
    docs = [
        _doc(1, "Lista płac", "Błąd w płacach za marzec."),
        _doc(2, "Plac manewrowy", "Zmiana adresu placu."),
    ]
    # "placach" alone is the dictionary's plac (a square); the index has seen "płacach".
    found = ids(engine, docs, "placach")
    assert 1 in found and 2 not in found
    assert 1 in ids(engine, docs, "płaca")  # the lemma: "płac" in the title, "płacach" below


def test_stop_words_are_not_highlighted_and_match_inside_a_phrase(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Wysyłka faktury do KSeF", "Faktury do KSeF nie wychodzą po aktualizacji."),
        _doc(2, "Wysyłka faktury KSeF do urzędu", "Inny opis."),
    ]
    assert sorted(ids(engine, docs, "faktury do ksef")) == [1, 2]  # "do" is left out
    hit = next(h for h in engine.search(SearchRequest(q="faktury do ksef")).hits if h.id == 1)
    assert "<mark>do</mark>" not in hit.title_highlighted
    assert "<mark>faktury</mark>" in hit.title_highlighted
    phrase = ids(engine, docs, '"faktury do ksef"')
    assert phrase == [1]  # "do" counts inside quotes: ticket 2 has the words, not the phrase


def test_highlighting_escapes_stored_html(engine: SearchEngine) -> None:
    docs = [
        _doc(1, "Logo <img src=x onerror=alert(1)> znika", "Na wydruku <script>x()</script> logo.")
    ]
    assert ids(engine, docs, "logo") == [1]
    hit = engine.search(SearchRequest(q="logo")).hits[0]
    assert "<img" not in hit.title_highlighted and "<script" not in hit.snippet
    assert hit.title_highlighted == "<mark>Logo</mark> &lt;img src=x onerror=alert(1)&gt; znika"
    assert "&lt;script&gt;" in hit.snippet and "<mark>logo</mark>" in hit.snippet
