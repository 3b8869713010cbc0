"""One contract for every search engine: the embedded tantivy one, and Meilisearch when set up."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from search import open_engine
from search.documents import TicketDocument
from search.ports import IndexSettings, SearchEngine, SearchRequest, SimilarRequest

MEILI_URL = os.environ.get("SEDNO_TEST_MEILI_URL")

SYNONYMS = {"ksef": ["krajowy system e-faktur"], "krajowy system e-faktur": ["ksef"]}


def _doc(id: int, title: str, description: str = "", **kw: object) -> TicketDocument:
    return TicketDocument(id=id, number=f"ZS/2026/{id}", title=title, description=description, **kw)  # type: ignore[arg-type]


CORPUS = [
    _doc(1, "Błąd łączenia z bazą danych", "Po aktualizacji nie działa łączenie z serwerem SQL.",
         product="enova365", module="Kadry Płace", type="bug", keywords=["baza danych"]),
    _doc(2, "Urlop wypoczynkowy źle naliczony", "Lista płac pokazuje zły wymiar urlopu w Łodzi.",
         product="enova365", module="Kadry Płace", type="question"),
    _doc(3, "Korekta faktury sprzedaży", "Jak wystawić korektę do faktury w module Handel.",
         product="enova365", module="Handel", type="question", solution="Użyj przycisku Korekta."),
    _doc(4, "Wysyłka do KSeF odrzucona", "Dokument nie przeszedł walidacji schematu.",
         product="Triva", module="Handel", type="bug"),
    _doc(5, "Problem z wysyłką e-deklaracji", "Krajowy system e-faktur zwraca błąd 400 przy wysyłce.",
         product="enova365", module="Księgowość", type="bug"),
    _doc(6, "Księgowanie przelewów", "Przelewy nie księgują się automatycznie.",
         product="enova365", module="Księgowość", type="question",
         kb_links=["https://pomoc.enova.pl/baza-wiedzy/48213"]),
    _doc(7, "Drukowanie deklaracji PIT", "Wydruk zawiera stare dane w fakturze zbiorczej.",
         product="Triva", module="Kadry Płace", type="bug"),
    _doc(8, "Import wyciągu bankowego", "Błędny format pliku MT940 z banku.",
         product="Triva", module="Księgowość", type="bug"),
]  # fmt: skip


def _backends() -> list[object]:
    meili = pytest.param(
        "meili",
        marks=pytest.mark.skipif(
            not MEILI_URL, reason="SEDNO_TEST_MEILI_URL is not set: no Meilisearch server to test"
        ),
    )
    return ["embedded", meili]


BACKENDS = _backends()


def open_test_engine(backend: str, tmp_path: Path) -> SearchEngine:
    """The embedded engine, or Meilisearch on a fresh index of its own."""
    if backend == "meili":
        return open_engine(tmp_path, MEILI_URL, os.environ.get("SEDNO_TEST_MEILI_KEY"),
                           index_name=f"test_{uuid.uuid4().hex[:10]}")  # fmt: skip
    return open_engine(tmp_path, None, None)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchEngine]:
    eng = open_test_engine(request.param, tmp_path)
    eng.wait(eng.configure(IndexSettings(synonyms=SYNONYMS)), 120)
    eng.wait(eng.upsert(CORPUS), 120)
    yield eng
    eng.close()


def ids(engine: SearchEngine, q: str, **kw: object) -> list[int]:
    return [h.id for h in engine.search(SearchRequest(q=q, **kw)).hits]  # type: ignore[arg-type]


def test_counts_documents_and_answers_ping(engine: SearchEngine) -> None:
    engine.ping()
    assert engine.count() == len(CORPUS)


def test_a_typo_still_finds_the_word(engine: SearchEngine) -> None:
    assert ids(engine, "ksiegownie")[:1] == [6]  # księgowanie, one letter missing
    assert 2 in ids(engine, "urlpo")  # swapped letters count as one typo


def test_short_words_get_no_typos(engine: SearchEngine) -> None:
    assert ids(engine, "pot") == []  # "pit" is 1 edit away but words of ≤ 4 letters must be exact


def test_a_wrong_first_letter_counts_as_two_typos(engine: SearchEngine) -> None:
    # Meilisearch's rule (milli compute_derivations): 5-8 letters allow one typo, never on the
    # first letter; 9+ letters allow two, and a wrong first letter spends both.
    assert ids(engine, "porekta") == []  # korekta: the one typo is the first letter
    assert 3 in ids(engine, "kprekta")  # the same one typo, second letter
    assert 7 in ids(engine, "trukowanie")  # drukowanie: 10 letters, first letter = two typos
    assert ids(engine, "trukowanje") == []  # and one more is three
    hit = engine.search(SearchRequest(q="trukowanie")).hits[0]
    assert hit.title_highlighted.startswith("<mark>Drukowanie</mark>")
    assert engine.search(SearchRequest(q="porekta", facets=["module"])).total == 0


def test_folding_ignores_diacritics_including_l_stroke(engine: SearchEngine) -> None:
    assert ids(engine, "lacze")[:1] == [1]
    assert ids(engine, "laczenie")[:1] == [1]
    assert 2 in ids(engine, "lodzi")
    assert 1 in ids(engine, "Łączenie")


def test_prefix_of_the_last_word_finds_as_you_type(engine: SearchEngine) -> None:
    assert ids(engine, "wycia")[:1] == [8]
    assert ids(engine, "import wyc")[:1] == [8]


def test_every_word_must_match_then_last_words_are_dropped(engine: SearchEngine) -> None:
    both = ids(engine, "korekta faktury")
    assert both[0] == 3
    relaxed = ids(engine, "faktury zzzqqq")
    assert relaxed and relaxed[0] == 3  # nothing has both words: the last one is dropped


def test_exact_match_beats_typo(engine: SearchEngine) -> None:
    extra = [
        _doc(20, "Zmiana stawki VAT", "Stawka zmieniona w kartotece."),
        _doc(21, "Zmiana stawku VAT", "Stawka zmieniona w kartotece."),
    ]
    engine.wait(engine.upsert(extra))
    assert ids(engine, "stawki")[:2] == [20, 21]


def test_title_beats_description(engine: SearchEngine) -> None:
    extra = [
        _doc(30, "Raport kasowy", "Problem z wydrukiem zestawienia magazynowego."),
        _doc(31, "Zestawienie magazynowe", "Problem z wydrukiem raportu."),
    ]
    engine.wait(engine.upsert(extra))
    assert ids(engine, "zestawienie")[0] == 31


def test_filters_restrict_results_and_facets_count(engine: SearchEngine) -> None:
    res = engine.search(
        SearchRequest(q="", filters={"product": "Triva"}, facets=["module", "type"])
    )
    assert sorted(h.id for h in res.hits) == [4, 7, 8]
    assert res.total == 3
    assert res.facets["module"] == {"Handel": 1, "Kadry Płace": 1, "Księgowość": 1}
    assert res.facets["type"] == {"bug": 3}
    res = engine.search(
        SearchRequest(q="", filters={"module": ["Handel", "Księgowość"]}, facets=["product"])
    )
    assert res.facets["product"] == {"enova365": 3, "Triva": 2}
    assert ids(engine, "deklaracji", filters={"product": "Triva"}) == [7]


def test_deleting_a_document_removes_it(engine: SearchEngine) -> None:
    assert 8 in ids(engine, "wyciągu")
    engine.wait(engine.delete([8]))
    assert 8 not in ids(engine, "wyciągu")
    assert engine.count() == len(CORPUS) - 1
    engine.wait(engine.delete_all())
    assert engine.count() == 0


def test_upserting_changed_text_shows_the_new_text(engine: SearchEngine) -> None:
    engine.wait(
        engine.upsert([_doc(8, "Import wyciągu bankowego", "Plik Elixir ma zły nagłówek.")])
    )
    assert ids(engine, "elixir") == [8]
    assert 8 not in ids(engine, "MT940")
    assert engine.count() == len(CORPUS)


def test_synonyms_apply_at_query_time(engine: SearchEngine) -> None:
    assert 5 in ids(engine, "ksef")  # only mentions "Krajowy system e-faktur"
    assert 4 in ids(engine, "krajowy system e-faktur")  # only mentions KSeF


def test_kb_link_url_or_id_finds_the_citing_ticket(engine: SearchEngine) -> None:
    assert ids(engine, "https://pomoc.enova.pl/baza-wiedzy/48213")[:1] == [6]
    assert ids(engine, "48213") == [6]
    assert ids(engine, "", filters={"kb_link": "https://pomoc.enova.pl/baza-wiedzy/48213"}) == [6]
    assert ids(engine, "", filters={"kb_link": "https://pomoc.enova.pl/baza-wiedzy/4821"}) == []


@pytest.mark.parametrize("q", ["C++ (x", '"', "-", "", "   ", "AND OR NOT", "title:x*", "((", "ą"])
def test_weird_queries_do_not_raise(engine: SearchEngine, q: str) -> None:
    res = engine.search(SearchRequest(q=q))
    assert isinstance(res.hits, list)


def test_stemming_finds_other_forms(engine: SearchEngine) -> None:
    found = ids(engine, "faktury")
    assert 7 in found  # "fakturze"
    assert found.index(3) < found.index(7)  # the exact form ranks above the stem


def test_verified_and_reused_preferred_among_equals(engine: SearchEngine) -> None:
    extra = [
        _doc(40, "Zamknięcie miesiąca", "Procedura zamknięcia."),
        _doc(41, "Zamknięcie miesiąca", "Procedura zamknięcia.", verified=True),
        _doc(42, "Zamknięcie miesiąca", "Procedura zamknięcia.", reuse_count=50),
    ]
    engine.wait(engine.upsert(extra))
    found = ids(engine, "zamknięcie miesiąca")
    assert found.index(41) < found.index(40)
    assert found.index(42) < found.index(40)


def test_verified_and_reused_only_break_ties(engine: SearchEngine) -> None:
    # Both engines: the ranking rules first, verified and reuse only among what they tie.
    extra = [
        _doc(43, "Zamknięcie miesiąca", "Procedura."),
        _doc(44, "Procedura", "Zamknięcie miesiąca.", verified=True, reuse_count=100),
    ]
    engine.wait(engine.upsert(extra))
    found = ids(engine, "zamknięcie miesiąca")
    assert found.index(43) < found.index(44), "a title match beats a verified description match"
    placeholder = ids(engine, "", limit=50)
    assert placeholder.index(44) < placeholder.index(43), "with no words, verified first"


def test_highlight_marks_typo_and_prefix_matches(engine: SearchEngine) -> None:
    hit = engine.search(SearchRequest(q="ksiegownie")).hits[0]
    assert hit.title_highlighted == "<mark>Księgowanie</mark> przelewów"
    hit = engine.search(
        SearchRequest(q="przelewy auto", highlight_pre_tag="[", highlight_post_tag="]")
    ).hits[0]
    assert "[automatycznie]" in hit.snippet
    assert "[Przelewy]" in hit.snippet


def test_snippet_is_cropped_around_the_match(engine: SearchEngine) -> None:
    long_text = (
        " ".join(["wstęp"] * 60) + " tutaj jest kluczowa informacja " + " ".join(["koniec"] * 60)
    )
    engine.wait(engine.upsert([_doc(50, "Długi opis", long_text)]))
    hit = engine.search(SearchRequest(q="kluczowa", crop_length=10)).hits[0]
    assert "<mark>kluczowa</mark>" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet.split()) <= 12


LOGO_ANSWER = (
    "Panie {name}, w Konfiguracji → Wydruki → Faktura proszę wskazać plik logo i zapisać "
    "wzorzec; po ponownym uruchomieniu wydruku logo się pojawi."
)


def test_collapse_lists_copies_under_the_best_and_counts_results(engine: SearchEngine) -> None:
    names = ["Kowalski", "Nowak", "Wiśniewski", "Zieliński"]
    copies = [
        _doc(
            60 + i, f"Brak logo na wydruku ({n})", "Brak logo.", solution=LOGO_ANSWER.format(name=n)
        )
        for i, n in enumerate(names)
    ]
    others = [
        _doc(70, "Logo wydruku w złym miejscu", solution="Przesunąć ramkę logo we wzorcu."),
        _doc(71, "Logo wydruku rozmazane", solution="Wgrać plik logo w wyższej rozdzielczości."),
    ]
    engine.wait(engine.upsert([*copies, *others]))

    flat = engine.search(SearchRequest(q="logo wydruku", limit=10)).hits
    assert len(flat) == 6 and all(not h.copies for h in flat)

    everything = engine.search(SearchRequest(q="logo wydruku", limit=10, collapse=True)).hits
    assert len(everything) == 3
    [best] = [h for h in everything if h.copies]
    assert {best.id, *(c.id for c in best.copies)} == {c.id for c in copies}
    assert all(c.title.startswith("Brak logo") and c.number for c in best.copies)

    two = engine.search(SearchRequest(q="logo wydruku", limit=2, collapse=True)).hits
    assert [h.id for h in two] == [h.id for h in everything[:2]]  # two results, not tickets
    later = engine.search(SearchRequest(q="logo wydruku", offset=1, collapse=True)).hits
    assert later[0].id == flat[1].id  # the offset counts tickets: a bounded window


def test_similar_finds_tickets_about_the_same_problem(engine: SearchEngine) -> None:
    res = engine.similar(
        SimilarRequest(
            title="Nie mogę się połączyć z bazą",
            text="Od rana program zgłasza błąd łączenia z serwerem SQL, baza danych niedostępna.",
            limit=3,
        )
    )
    assert res.hits and res.hits[0].id == 1
    res = engine.similar(
        SimilarRequest(title="x", text="łączenie serwer SQL baza", exclude_ids=[1])
    )
    assert 1 not in [h.id for h in res.hits]


def test_similar_hits_carry_the_whole_text_cosine_and_search_hits_none(
    engine: SearchEngine,
) -> None:
    own = CORPUS[7]  # "Import wyciągu bankowego": its own words come back as the call
    hits = engine.similar(SimilarRequest(title=own.title, text=own.description)).hits
    cosines = {h.id: h.text_cosine for h in hits}
    assert cosines[own.id] > 0.9
    assert all(0.0 <= c < cosines[own.id] for i, c in cosines.items() if i != own.id)
    assert all(h.text_cosine == 0.0 for h in engine.search(SearchRequest(q="wyciąg")).hits)


def test_similar_gives_a_wide_request_every_hit_it_asks_for(engine: SearchEngine) -> None:
    many = [
        _doc(100 + i, f"Wydruk etykiety {i}", "drukarka etykiet gubi wydruk") for i in range(70)
    ]
    engine.wait(engine.upsert(many), 120)
    req = SimilarRequest(title="Wydruk etykiety", text="drukarka etykiet", limit=100)
    found = {h.id for h in engine.similar(req).hits}
    assert found >= {d.id for d in many}  # all of them, not the 50 a short list reranks
    assert len(engine.similar(msgspec.structs.replace(req, limit=10)).hits) == 10
