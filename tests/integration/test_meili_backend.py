"""The Meilisearch backend against the stand-in (tests/meili_standin.py): each point of issue 16
that only shows against Meilisearch's own rules. The full contract for a real server stays in
test_search_contract.py (`SEDNO_TEST_MEILI_URL`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from search.documents import TicketDocument
from search.meili import MAX_TOTAL_HITS, MeiliSearchEngine
from search.ports import (
    IndexSettings,
    SearchRejected,
    SearchRequest,
    SearchUnavailable,
    SimilarRequest,
)
from tests.integration.test_search_contract import (  # the contract's test, on this engine
    CORPUS,
    SYNONYMS,
    test_a_wrong_first_letter_counts_as_two_typos,  # noqa: F401
    test_collapse_lists_copies_under_the_best_and_counts_results,  # noqa: F401
    test_similar_finds_tickets_about_the_same_problem,  # noqa: F401
    test_verified_and_reused_only_break_ties,  # noqa: F401
)
from tests.meili_standin import MeiliStandin

KEY = "master-key"


@pytest.fixture
def server() -> MeiliStandin:
    return MeiliStandin(master_key=KEY)


def _engine(server: MeiliStandin, key: str | None = KEY) -> MeiliSearchEngine:
    return MeiliSearchEngine("http://meili.test:7700", key, transport=server.transport())


@pytest.fixture
def engine(server: MeiliStandin) -> Iterator[MeiliSearchEngine]:
    eng = _engine(server)
    eng.wait(eng.configure(IndexSettings(synonyms=SYNONYMS)))
    eng.wait(eng.upsert(CORPUS))
    yield eng
    eng.close()


def _doc(id: int, title: str, description: str = "", **kw: object) -> TicketDocument:
    return TicketDocument(id=id, number=f"ZS/2026/{id}", title=title, description=description, **kw)  # type: ignore[arg-type]


def ids(engine: MeiliSearchEngine, q: str, **kw: object) -> list[int]:
    return [h.id for h in engine.search(SearchRequest(q=q, **kw)).hits]  # type: ignore[arg-type]


# 1 ----------------------------------------------------------------------------- similar


def test_similar_sends_no_query_that_needs_every_rare_word(
    engine: MeiliSearchEngine, server: MeiliStandin
) -> None:
    engine.similar(SimilarRequest(title="Wydruk PIT", text="deklaracji fakturze zbiorczej MT940"))
    bodies = [json.loads(r.content) for r in server.requests if r.url.path == "/multi-search"]
    queries = [q for b in bodies for q in b["queries"]]
    assert all(q.get("matchingStrategy") != "frequency" for q in queries)


def test_document_frequencies_are_exact_and_capped_words_count_as_common(
    server: MeiliStandin,
) -> None:
    eng = _engine(server)
    common = [_doc(i, f"Faktura {i}", "program faktura") for i in range(1, 1201)]
    eng.wait(eng.configure(IndexSettings()))
    eng.wait(eng.upsert(common))
    df = eng._doc_freqs(["faktura", "faktur", "program"], 1200)
    assert df["faktura"] == 1200  # 1200 > Meilisearch's default cap of 1000
    assert df["faktur"] == 0, "a phrase counts no prefix or typo matches"


# 2 ------------------------------------------------------------------ a fresh deployment


def test_a_fresh_server_gets_a_configured_index_on_the_first_write(server: MeiliStandin) -> None:
    eng = _engine(server)
    assert eng.count() == 0, "no index yet is an empty index, not an error"
    eng.wait(eng.delete_all())  # sedno reindex / restore on an empty server
    eng.wait(eng.upsert(CORPUS))
    res = eng.search(SearchRequest(q="", filters={"product": "Triva"}, facets=["module"]))
    assert res.total == 3 and res.facets["module"] == {
        "Handel": 1,
        "Kadry Płace": 1,
        "Księgowość": 1,
    }
    eng.wait(eng.delete([8]))
    assert eng.count() == len(CORPUS) - 1


def test_an_index_auto_created_without_settings_is_repaired(server: MeiliStandin) -> None:
    raw = _engine(server)
    raw._index_ready = True  # as the old code: documents sent without configuring
    raw.wait(raw.upsert(CORPUS[:2]))
    assert server.indexes["tickets"]["settings"]["filterableAttributes"] == []
    fresh = _engine(server)
    fresh.wait(fresh.upsert(CORPUS))
    res = fresh.search(SearchRequest(q="", facets=["type"]))
    assert res.facets["type"] == {"bug": 5, "question": 3}


def test_search_on_a_missing_index_is_empty(server: MeiliStandin) -> None:
    assert _engine(server).search(SearchRequest(q="faktura", facets=["module"])).hits == []


# 3 ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("key", ["wrong", None])
def test_a_wrong_or_missing_key_is_unavailable_and_ping_says_so(
    engine: MeiliSearchEngine, server: MeiliStandin, key: str | None
) -> None:
    bad = _engine(server, key)
    with pytest.raises(SearchUnavailable):
        bad.ping()
    with pytest.raises(SearchUnavailable):
        bad.search(SearchRequest(q="faktura"))
    if key is None:
        assert "Authorization" not in server.requests[-1].headers, "no `Bearer None`"


def test_too_many_search_requests_is_unavailable(
    engine: MeiliSearchEngine, server: MeiliStandin
) -> None:
    server.busy = True
    with pytest.raises(SearchUnavailable):
        engine.search(SearchRequest(q="faktura"))
    with pytest.raises(SearchUnavailable):
        engine.similar(SimilarRequest(text="faktura korekta"))


# 4 ---------------------------------------------------------------------------- synonyms


def test_a_synonym_of_four_words_finds_both_ways(engine: MeiliSearchEngine) -> None:
    # "krajowy system e-faktur" is four words to Meilisearch (e, faktur), which it never looks up
    assert 5 in ids(engine, "ksef")
    assert 4 in ids(engine, "krajowy system e-faktur")


# 5 ---------------------------------------------------- totals, facets, pages, facet values


def test_facets_and_total_count_only_what_all_words_match(engine: MeiliSearchEngine) -> None:
    res = engine.search(SearchRequest(q="wysyłka deklaracji", facets=["product"], limit=1))
    # "wysyłka" alone matches 4 and 5; both words only 5, which fills the page: no relaxing
    assert [h.id for h in res.hits][:1] == [5]
    assert res.total == 1
    assert res.facets["product"] == {"enova365": 1}


def test_stem_only_matches_count_in_total_and_facets(engine: MeiliSearchEngine) -> None:
    res = engine.search(SearchRequest(q="faktury", facets=["module"]))
    found = [h.id for h in res.hits]
    assert 3 in found and 7 in found  # 7 says "fakturze": a stem-only match
    assert res.total == len(found)
    assert sum(res.facets["module"].values()) == res.total


def test_deep_pages_and_facet_values_by_count(server: MeiliStandin) -> None:
    eng = _engine(server)
    docs = [
        _doc(i, "Zestawienie", module="Handel" if i % 3 else f"M{i:04d}") for i in range(1, 1601)
    ]
    eng.wait(eng.configure(IndexSettings()))
    eng.wait(eng.upsert(docs))
    res = eng.search(SearchRequest(q="", limit=20, offset=1500, facets=["module"]))
    assert len(res.hits) == 20 and res.total == 1600
    assert server.indexes["tickets"]["settings"]["pagination"]["maxTotalHits"] == MAX_TOTAL_HITS
    assert next(iter(res.facets["module"])) == "Handel", "the most frequent value first"


def test_filter_values_are_exact_with_case_spaces_quotes_and_backslashes(
    server: MeiliStandin,
) -> None:
    eng = _engine(server)
    # Meilisearch's filter parser unescapes only \" and ends a string at the first unescaped
    # quote (filter-parser value.rs `quoted_by`): a value ending in a backslash, or holding
    # one before a quote, cannot be written as a filter string at all, hence hex tokens.
    odd = ["C:\\Program Files\\enova", 'Moduł "Handel"', "handel", "Handel ", "C:\\enova\\",
           'a\\"b']  # fmt: skip
    docs = [_doc(60 + i, "Ścieżka", module=m) for i, m in enumerate(odd)]
    eng.wait(eng.configure(IndexSettings()))
    eng.wait(eng.upsert(docs))
    for i, value in enumerate(odd):
        assert ids(eng, "", filters={"module": value}) == [60 + i], value
    facets = eng.search(SearchRequest(q="", facets=["module"])).facets["module"]
    assert sorted(facets) == sorted(odd)


# 6 ---------------------------------------------------------- settings live in the server


def test_a_replica_reads_the_synonyms_another_process_applied(server: MeiliStandin) -> None:
    writer = _engine(server)
    writer.wait(writer.configure(IndexSettings(synonyms=SYNONYMS)))
    writer.wait(writer.upsert(CORPUS))
    replica = _engine(server)  # started with default settings
    hit = next(h for h in replica.search(SearchRequest(q="ksef")).hits if h.id == 5)
    assert "<mark>" in hit.snippet and "Krajowy" in hit.snippet.split("<mark>")[1]


# 7 ---------------------------------------------------------------------- the rest of 7


def test_large_batches_are_split_below_the_payload_limit(
    server: MeiliStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("search.meili.MAX_PAYLOAD_BYTES", 60_000)
    server.payload_limit = 100_000
    eng = _engine(server)
    long = " ".join(["wyjątkowo długi opis problemu"] * 400)
    docs = [_doc(i, f"Zgłoszenie {i}", long) for i in range(1, 41)]
    eng.wait(eng.upsert(docs))
    assert eng.count() == 40
    adds = [r for r in server.requests if r.url.path.endswith("/documents") and r.method == "POST"]
    assert len(adds) > 1 and max(len(r.content) for r in adds) <= 60_000


def test_a_413_halves_the_batch_and_refuses_only_the_oversized_ticket(
    server: MeiliStandin,
) -> None:
    server.payload_limit = 50_000  # a server (or proxy) with a limit below ours
    eng = _engine(server)
    text = " ".join(["opis problemu z wydrukiem"] * 80)  # about 2 KB of JSON a ticket
    docs = [_doc(i, f"Zgłoszenie {i}", text) for i in range(1, 61)]
    docs.append(_doc(99, "Ogromny zrzut logu", " ".join(["stacktrace linia"] * 6000)))
    with pytest.raises(SearchRejected) as refused:
        eng.upsert(docs)
    assert refused.value.ids == [99] and not isinstance(refused.value, SearchUnavailable)
    assert eng.count() == 60, "every other ticket is indexed"
    adds = [r for r in server.requests if r.url.path.endswith("/documents") and r.method == "POST"]
    assert len(adds) < 30, "halving, not one request per ticket nor for ever"


def test_a_ticket_over_our_own_batch_limit_is_refused_not_retried(
    server: MeiliStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("search.meili.MAX_PAYLOAD_BYTES", 10_000)
    eng = _engine(server)
    docs = [_doc(1, "Krótki"), _doc(2, "Długi", "x " * 20_000), _doc(3, "Też krótki")]
    with pytest.raises(SearchRejected) as refused:
        eng.upsert(docs)
    assert refused.value.ids == [2]
    assert eng.count() == 2


def test_every_request_is_one_meilisearch_accepts(
    engine: MeiliSearchEngine, server: MeiliStandin
) -> None:
    engine.search(SearchRequest(q="korekta faktury", facets=["module", "type"], offset=5))
    engine.similar(SimilarRequest(title="Błąd bazy", text="łączenie z serwerem SQL"))
    engine.ping()
    assert all(r.headers.get("Authorization") == f"Bearer {KEY}" for r in server.requests)


# ------------------------------------------------------------------- sedno search check


def test_search_check_reports_a_wrong_key_and_a_missing_index(server: MeiliStandin) -> None:
    from search.meili_check import check_meili

    [(level, what, detail)] = check_meili(_engine(server, "wrong"), 0)
    assert (level, what) == ("fail", "credentials") and "invalid_api_key" in detail
    lines = check_meili(_engine(server), 0)
    assert ("ok", "version", "Meilisearch 1.12.8") in lines
    assert any(w == "index" and lvl == "warn" for lvl, w, _ in lines)
    assert server.indexes == {}, "the check creates nothing"


def test_search_check_names_settings_an_auto_created_index_lacks(server: MeiliStandin) -> None:
    from search.meili_check import check_meili

    raw = _engine(server)
    raw._index_ready = True  # documents sent without configuring, as before issue 16
    raw.wait(raw.upsert(CORPUS[:2]))
    lines = check_meili(_engine(server), completed_tickets=8)
    failed = {w for lvl, w, _ in lines if lvl == "fail"}
    assert {"setting filterableAttributes", "setting pagination", "setting faceting"} <= failed
    assert ("warn", "documents") in {(lvl, w) for lvl, w, _ in lines}
    before = len(server.tasks)
    check_meili(_engine(server), 8)
    assert len(server.tasks) == before, "read-only"


def test_search_check_passes_on_a_configured_index(engine: MeiliSearchEngine) -> None:
    from search.meili_check import check_meili

    lines = check_meili(engine, completed_tickets=len(CORPUS))
    assert [x for x in lines if x[0] != "ok"] == []
