"""One answer, once, over HTTP: copies of a solution collapse into the best hit, expandable."""

from __future__ import annotations

from api.bootstrap import make_outbox_worker
from tests.e2e.conftest import Api

LOGO = (
    "Panie {name}, w Konfiguracji → Wydruki → Faktura proszę wskazać plik logo i zapisać "
    "wzorzec; po ponownym uruchomieniu wydruku logo się pojawi."
)
CLIENTS = ["Kowalski", "Nowak", "Wiśniewski", "Zieliński", "Lewandowski"]


def _solve(api: Api, title: str, solution: str, resolution: str = "resolved") -> int:
    h = api.h("consultant")
    tid = api.client.post(
        "/api/tickets",
        json={"title": title, "description": "Na wydruku faktury nie ma logo firmy."},
        headers=h,
    ).json()["id"]
    api.client.post(f"/api/tickets/{tid}/transition", json={"to": "in_progress"}, headers=h)
    r = api.client.post(
        f"/api/tickets/{tid}/transition",
        json={"to": "completed", "solution": solution, "resolution": resolution},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return int(tid)


def test_copies_of_one_solution_collapse_in_search_and_similar(api: Api) -> None:
    copies = [_solve(api, f"Brak logo na fakturze ({c})", LOGO.format(name=c)) for c in CLIENTS]
    other = _solve(api, "Logo faktury w złym miejscu", "Przesunąć ramkę logo we wzorcu wydruku.")
    rejected = _solve(
        api, "Logo faktury w kolorze", "Nie planujemy kolorowych logo.", resolution="rejected"
    )
    make_outbox_worker(api.container).drain()

    r = api.client.get("/api/search", params={"q": "logo faktury"}, headers=api.h("consultant"))
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert len(hits) == 3
    (shown,) = [h for h in hits if h["ticket_id"] in copies]
    assert {s["ticket_id"] for s in shown["same_solution"]} == set(copies) - {shown["ticket_id"]}
    assert {
        h["ticket_id"]: h["resolution"] for h in hits if h["ticket_id"] != shown["ticket_id"]
    } == {
        other: "resolved",
        rejected: "rejected",
    }

    # The similar panel asks for three answers: it gets three different ones, not three copies.
    r = api.client.post(
        "/api/search/similar",
        json={"title": "Nie ma logo na fakturze", "text": "Wydruk faktury bez logo.", "limit": 3},
        headers=api.h("consultant"),
    )
    assert r.status_code == 200, r.text
    similar = r.json()["hits"]
    assert len(similar) == 3
    assert sum(len(h["same_solution"]) for h in similar) == len(CLIENTS) - 1


def test_similar_rejects_a_bad_categorical_field(api: Api) -> None:
    r = api.client.post(
        "/api/search/similar",
        json={"text": "logo", "module": "x" * 201},
        headers=api.h("consultant"),
    )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "module" in r.text
