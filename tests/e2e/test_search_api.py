"""Knowledge search end to end: tickets → outbox → index → `GET /api/search`."""

from __future__ import annotations

from api.bootstrap import make_outbox_worker
from tests.e2e.conftest import Api


def _solve(api: Api, title: str, description: str, solution: str, **fields: object) -> int:
    h = api.h("consultant")
    tid = api.client.post(
        "/api/tickets", json={"title": title, "description": description, **fields}, headers=h
    ).json()["id"]
    api.client.post(f"/api/tickets/{tid}/transition", json={"to": "in_progress"}, headers=h)
    r = api.client.post(
        f"/api/tickets/{tid}/transition", json={"to": "completed", "solution": solution}, headers=h
    )
    assert r.status_code == 200
    return int(tid)


def _search(api: Api, q: str, **params: str) -> dict:
    r = api.client.get("/api/search", params={"q": q, **params}, headers=api.h("consultant"))
    assert r.status_code == 200, r.text
    return r.json()


def _drain(api: Api) -> None:
    make_outbox_worker(api.container).drain()


def test_solved_ticket_is_found_with_typos_and_without_diacritics(api: Api) -> None:
    ksef = _solve(
        api,
        "Błąd wysyłki faktury do KSeF",
        "Komunikat o błędzie schematu FA(2)",
        "Zaktualizować program i ponownie wysłać fakturę.",
        product="enova365",
        module="Handel",
        keywords=["KSeF"],
        kb_links=["https://pomoc.example.pl/artykul/kb-1021"],
    )
    plac = _solve(
        api,
        "Łączenie kont księgowych",
        "Salda się nie przeniosły",
        "Połączyć konta przy zamkniętym okresie.",
        product="enova365",
        module="Księgowość",
    )
    triva = _solve(
        api,
        "Synchronizacja zamówień",
        "Sklep nie wysyła zamówień",
        "Odnowić token API.",
        product="Triva",
        module="Triva",
    )
    assert _search(api, "faktury")["hits"] == []  # not indexed until the worker runs
    _drain(api)
    assert _search(api, "wysylki fkatury")["hits"][0]["ticket_id"] == ksef  # typo + no diacritics
    assert _search(api, "lacze")["hits"][0]["ticket_id"] == plac  # ł → l, prefix
    assert _search(api, "synchroniz")["hits"][0]["ticket_id"] == triva  # as you type
    first = _search(api, "faktury")["hits"][0]
    assert first["solution"].startswith("Zaktualizować") and first["kb_links"]
    assert "<mark>" in first["snippet"] + first["title_highlighted"]
    result = _search(api, "", product="enova365")
    assert {h["ticket_id"] for h in result["hits"]} == {ksef, plac}
    assert result["facets"]["product"] == {"enova365": 2}
    assert _search(api, "kb-1021")["hits"][0]["ticket_id"] == ksef
    for weird in ["C++ (x", '"', "-", "(((", "AND OR NOT"]:
        _search(api, weird)
    similar = api.client.post(
        "/api/search/similar",
        json={"title": "KSeF", "text": "Faktura nie wysyła się do KSeF, błąd schematu"},
        headers=api.h("consultant"),
    )
    assert similar.status_code == 200 and similar.json()["hits"][0]["ticket_id"] == ksef


def test_edit_reopen_and_cancel_follow_the_database(api: Api) -> None:
    tid = _solve(api, "Drukarka fiskalna nie drukuje", "port COM", "Ustawić prędkość 9600.")
    _drain(api)
    assert _search(api, "drukarka")["total"] == 1
    api.client.patch(
        f"/api/tickets/{tid}", json={"solution": "Zmienić protokół na Thermal."}, headers=api.h()
    )
    _drain(api)
    assert _search(api, "thermal")["hits"][0]["ticket_id"] == tid
    api.client.post(
        f"/api/tickets/{tid}/transition", json={"to": "in_progress"}, headers=api.h()
    )  # reopen
    _drain(api)
    assert _search(api, "drukarka")["total"] == 0
    api.client.post(f"/api/tickets/{tid}/transition", json={"to": "cancelled"}, headers=api.h())
    _drain(api)
    assert _search(api, "drukarka")["total"] == 0


def test_ready_reports_lagging_index(api: Api) -> None:
    assert api.client.get("/ready").status_code == 200
    _solve(api, "x", "y", "z")
    with api.container.db.transaction() as s:
        import datetime as dt

        from sqlalchemy import update

        from tickets.core.db import utcnow
        from tickets.core.outbox import OutboxJobRow

        s.execute(update(OutboxJobRow).values(created_at=utcnow() - dt.timedelta(minutes=10)))
    r = api.client.get("/ready")
    assert r.status_code == 503 and "lagging" in r.json()["checks"]["search_index"]
    _drain(api)
    assert api.client.get("/ready").status_code == 200


def test_an_empty_index_is_refilled_from_the_database(api: Api) -> None:
    from search.sync import repopulate_if_empty

    tid = _solve(api, "Drukarka fiskalna", "COM", "9600")
    _drain(api)
    api.container.search.wait(api.container.search.delete_all())
    assert _search(api, "drukarka")["total"] == 0
    assert repopulate_if_empty(api.container) == 1
    assert repopulate_if_empty(api.container) == 0  # already queued
    _drain(api)
    assert _search(api, "drukarka")["hits"][0]["ticket_id"] == tid


def test_a_ticket_number_in_the_query_puts_that_ticket_first_whatever_its_state(api: Api) -> None:
    solved = _solve(api, "Korekta faktury 29", "Opis 29.", "Wystawić korektę.")
    h = api.h("consultant")
    created = api.client.post(
        "/api/tickets", json={"title": "Nowe <b>zgłoszenie</b>", "description": "x"}, headers=h
    ).json()
    _drain(api)
    number = created["number"]  # e.g. ZS/2026/2: new, unsolved, not in the index
    code, year, n = number.split("/")
    for q in (number, f"{code.lower()} {year} {n}", f"{year}/{n}", f"{code}{n}"):
        result = _search(api, q)
        assert result["number_match"] == created["id"], q
        assert result["hits"][0]["ticket_id"] == created["id"], q
        assert result["hits"][0]["title_highlighted"] == "Nowe &lt;b&gt;zgłoszenie&lt;/b&gt;"
    assert _search(api, "faktury")["number_match"] is None
    assert _search(api, n)["number_match"] is None  # a bare number is a word, not a ticket
    ui = api.client.get("/", params={"q": f"{code} {year} {n}", "open": "1"}, headers=h,
                        follow_redirects=False)  # fmt: skip
    assert ui.status_code == 303 and ui.headers["location"] == f"/tickets/{created['id']}"
    ui = api.client.get("/", params={"q": "korekta", "open": "1"}, headers=h)
    assert ui.status_code == 200 and solved


def test_an_admin_edits_the_stop_words_and_the_index_follows(api: Api) -> None:
    words = api.client.get("/api/search/stop-words", headers=api.h("consultant")).json()["words"]
    assert {"do", "się", "że", "nie"} <= set(words)  # the default Polish list
    tid = _solve(api, "Wydruk faktury zbiorczej", "Pusty wydruk.", "Zmienić szablon.")
    _drain(api)
    hit = _search(api, "zbiorczej wydruk")["hits"][0]
    assert hit["ticket_id"] == tid and "<mark>Wydruk</mark>" in hit["title_highlighted"]
    refused = api.client.put(
        "/api/search/stop-words", json={"words": ["wydruk"]}, headers=api.h("consultant")
    )
    assert refused.status_code == 403
    bad = api.client.put("/api/search/stop-words", json={"words": [""]}, headers=api.h("admin"))
    assert bad.status_code == 400 and "words" in bad.text
    r = api.client.put(
        "/api/search/stop-words", json={"words": ["Wydruk", "do", "do"]}, headers=api.h("admin")
    )
    assert r.status_code == 200 and r.json()["words"] == ["do", "wydruk"]
    _drain(api)  # the settings job reconfigures the index
    hit = _search(api, "zbiorczej wydruk")["hits"][0]
    assert hit["ticket_id"] == tid and "<mark>Wydruk</mark>" not in hit["title_highlighted"]
    assert "<mark>zbiorczej</mark>" in hit["title_highlighted"]
    r = api.client.put("/api/search/stop-words", json={"words": []}, headers=api.h("admin"))
    assert "się" in r.json()["words"]  # empty: back to the default list
