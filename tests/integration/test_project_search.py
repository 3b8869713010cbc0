"""The project filter on every search engine (the contract's engines: embedded tantivy, and
Meilisearch when `SEDNO_TEST_MEILI_URL` is set)."""

from __future__ import annotations

from search.ports import SearchEngine, SearchRequest
from tests.integration.test_search_contract import _doc, engine, ids

__all__ = ["engine"]


def test_a_project_filters_and_facets_on_every_engine(engine: SearchEngine) -> None:
    engine.wait(engine.upsert([
        _doc(20, "Wdrożenie kadr w spółce", project="7", module="Kadry Płace"),
        _doc(21, "Wdrożenie kadr w oddziale", project="8", module="Kadry Płace"),
        _doc(22, "Wdrożenie kadr bez projektu", module="Kadry Płace"),
    ]), 120)  # fmt: skip
    assert ids(engine, "wdrożenie kadr", filters={"project": "7"}) == [20]
    assert sorted(ids(engine, "wdrożenie", filters={"project": ["7", "8"]})) == [20, 21]
    res = engine.search(SearchRequest(q="wdrożenie", facets=["project"]))
    assert res.facets["project"] == {"7": 1, "8": 1}
