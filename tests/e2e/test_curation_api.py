"""Keywords and curation over HTTP, with the real embedded search engine behind the outbox."""

from __future__ import annotations

from api.bootstrap import make_outbox_worker
from tests.e2e.conftest import Api
from tickets.core.db import utcnow
from tickets.curation.weeks import week_of


def _solve(api: Api, title: str, description: str, **fields: object) -> int:
    h = api.h("consultant")
    r = api.client.post(
        "/api/tickets", json={"title": title, "description": description, **fields}, headers=h
    )
    tid = int(r.json()["id"])
    api.client.post(f"/api/tickets/{tid}/transition", json={"to": "in_progress"}, headers=h)
    r = api.client.post(
        f"/api/tickets/{tid}/transition",
        json={"to": "completed", "solution": "Zrobione."},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return tid


def _found(api: Api, q: str) -> set[int]:
    r = api.client.get("/api/search", params={"q": q}, headers=api.h("consultant"))
    assert r.status_code == 200, r.text
    return {h["ticket_id"] for h in r.json()["hits"]}


def _drain(api: Api) -> None:
    make_outbox_worker(api.container).drain()


def test_merged_keyword_retags_tickets_and_old_word_still_finds_them(api: Api) -> None:
    cur = api.h("curator")
    old = _solve(
        api, "Wysyłka dokumentu odrzucona", "Serwer zwraca kod 400.", keywords=["eFaktura"]
    )
    new = _solve(
        api, "Błąd schematu przy wysyłce", "Walidacja XML nie przechodzi.", keywords=["KSeF"]
    )
    r = api.client.post(
        "/api/keywords", json={"name": "KSeF", "synonyms": ["Krajowy System e-Faktur"]}, headers=cur
    )
    assert r.status_code == 201, r.text
    ksef = r.json()["id"]
    efaktura = api.client.post("/api/keywords", json={"name": "eFaktura"}, headers=cur).json()["id"]
    assert api.client.post("/api/keywords", json={"name": "ksef"}, headers=cur).status_code == 409
    assert (
        api.client.post(
            "/api/keywords", json={"name": "X"}, headers=api.h("consultant")
        ).status_code
        == 403
    )
    _drain(api)
    assert _found(api, "efaktura") == {old}
    assert _found(api, "krajowy system e-faktur") == {new}  # multi-word synonym → KSeF

    r = api.client.post(f"/api/keywords/{efaktura}/merge", json={"into_id": ksef}, headers=cur)
    assert r.status_code == 200, r.text
    assert r.json()["retagged"] == 1 and "eFaktura" in r.json()["keyword"]["synonyms"]
    _drain(api)
    ticket = api.client.get(f"/api/tickets/{old}", headers=cur).json()
    assert ticket["keywords"] == ["KSeF"]
    assert any(
        h["field"] == "keywords" and h["old_value"] == ["eFaktura"] for h in ticket["history"]
    )
    assert _found(api, "efaktura") == {old, new}  # the old word, through the synonyms
    assert _found(api, "krajowy system e-faktur") == {old, new}
    names = [
        k["name"]
        for k in api.client.get("/api/keywords", headers=api.h("consultant")).json()["items"]
    ]
    assert names == ["KSeF"]

    suggestions = api.client.get(f"/api/keywords/suggestions/{_solve(api, 'Wysyłka do KSeF', 'x')}",
                                 headers=cur).json()["items"]  # fmt: skip
    assert suggestions[0]["keyword"] == "KSeF" and suggestions[0]["source"] == "text"


def test_week_report_queue_fixes_and_link_check(api: Api) -> None:
    cur = api.h("curator")
    bare = _solve(api, "Nie drukuje się faktura zbiorcza", "Wydruk pusty", module="Handel")
    done = _solve(api, "Lista płac bez ZUS", "Składki zerowe", module="Kadry Płace", keywords=["ZUS"],
                  kb_links=["http://127.0.0.1:9/kb"])  # fmt: skip
    api.client.get(
        "/api/search", params={"q": "zupełnie nieznane słowo"}, headers=api.h("consultant")
    )
    week = week_of(utcnow())
    assert (
        api.client.get(
            "/api/curation/week", params={"week": week}, headers=api.h("consultant")
        ).status_code
        == 403
    )
    assert api.client.get(
        "/api/curation/week", params={"week": "2026-53"}, headers=cur
    ).status_code in (400, 422)

    queue = api.client.get("/api/curation/queue", params={"week": week}, headers=cur).json()
    assert [i["ticket"]["id"] for i in queue["items"]] == [bare]
    r = api.client.post(f"/api/curation/tickets/{bare}", headers=cur,
                        json={"add_keywords": ["wydruk"], "add_kb_links": ["kb:artykul-5"], "verified": True})  # fmt: skip
    assert r.status_code == 200 and r.json()["verified"] and r.json()["keywords"] == ["wydruk"]
    assert (
        api.client.get("/api/curation/queue", params={"week": week}, headers=cur).json()["items"]
        == []
    )

    assert api.client.post("/api/curation/linkcheck", headers=cur).status_code == 202
    _drain(api)
    report = api.client.get("/api/curation/week", params={"week": week}, headers=cur).json()
    assert list(report) == ["week", "resolved", "with_keywords", "with_kb_links", "verified",
                            "missing_keywords", "missing_kb_links", "duplicate_groups", "top_reused",
                            "zero_result_queries", "new_keywords", "broken_links", "by_module"]  # fmt: skip
    assert (
        report["resolved"],
        report["with_keywords"],
        report["with_kb_links"],
        report["verified"],
    ) == (2, 2, 2, 2)
    assert [q["query"] for q in report["zero_result_queries"]] == ["zupełnie nieznane słowo"]
    assert [(b["url"], [t["id"] for t in b["tickets"]]) for b in report["broken_links"]] == [
        ("http://127.0.0.1:9/kb", [done])]  # fmt: skip
    csv_a = api.client.get(
        "/api/curation/week", params={"week": week, "format": "csv"}, headers=cur
    )
    csv_b = api.client.get("/api/curation/week.csv", params={"week": week}, headers=cur)
    assert csv_a.headers["content-type"].startswith("text/csv") and csv_a.text == csv_b.text
    assert f"summary,resolved,2,{week}" in csv_a.text
