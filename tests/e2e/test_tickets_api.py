"""The ticket core through HTTP, as a consultant and an admin would use it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.e2e.conftest import Api
from tickets.core.outbox import OutboxJobRow

YEAR = dt.datetime.now(dt.UTC).year


def _client(api: Api, *, dnc: bool = False, licence: str = "EN-1") -> dict:
    partner = api.client.post(
        "/api/partners", json={"name": "Partner Kraków"}, headers=api.h()
    ).json()
    r = api.client.post(
        "/api/clients",
        json={
            "name": "Piekarnia Łączka",
            "partner_id": partner["id"],
            "do_not_contact": dnc,
            "sales_note": "Zaległe płatności" if dnc else "",
            "licences": [{"number": licence, "product": "enova365", "modules": ["Handel"]}],
        },
        headers=api.h(),
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_auth_401_without_token_and_403_for_role(api: Api) -> None:
    r = api.client.get("/api/tickets")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        api.client.get("/api/tickets", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    r = api.client.post("/api/users", json={"login": "x", "name": "X"}, headers=api.h("consultant"))
    assert r.status_code == 403
    r = api.client.post(
        "/api/users", json={"login": "nowy", "name": "Nowy"}, headers=api.h("admin")
    )
    assert r.status_code == 201
    token = r.json()["token"]
    assert (
        api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["role"]
        == "consultant"
    )
    assert api.client.get("/health").status_code == 200


def test_bad_body_names_the_field(api: Api) -> None:
    r = api.client.post("/api/tickets", json={"definition": "ZS"}, headers=api.h())
    assert r.status_code == 400
    assert r.json()["field"] == "title"
    r = api.client.post("/api/tickets", json={"title": "x", "priority": "pilne"}, headers=api.h())
    assert r.status_code == 400 and r.json()["field"] == "priority"
    r = api.client.post("/api/tickets", json={"title": "x", "product": "SAP"}, headers=api.h())
    assert r.status_code == 422 and r.json()["field"] == "product"
    r = api.client.post("/api/tickets", json={"title": "x", "definition": "XX"}, headers=api.h())
    assert r.status_code == 404


def test_ticket_lifecycle_with_history_and_409(api: Api) -> None:
    r = api.client.post(
        "/api/tickets",
        json={
            "definition": "ZS",
            "title": "Błąd KSeF",
            "description": "opis",
            "type": "bug",
            "product": "enova365",
        },
        headers=api.h("consultant"),
    )
    assert r.status_code == 201
    ticket = r.json()
    assert ticket["number"] == f"ZS/{YEAR}/1" and ticket["state"] == "reported"
    assert set(ticket["allowed_transitions"]) == {"analysing", "in_progress", "cancelled"}
    tid = ticket["id"]
    r = api.client.post(
        f"/api/tickets/{tid}/transition", json={"to": "completed"}, headers=api.h("consultant")
    )
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "invalid-transition"
    assert (body["current"], body["target"]) == ("reported", "completed")
    assert set(body["allowed"]) == {"analysing", "in_progress", "cancelled"}
    r = api.client.patch(
        f"/api/tickets/{tid}",
        json={"module": "Handel", "keywords": ["KSeF"]},
        headers=api.h("consultant"),
    )
    assert r.status_code == 200 and r.json()["module"] == "Handel"
    for target in ("analysing", "in_progress"):
        assert (
            api.client.post(
                f"/api/tickets/{tid}/transition", json={"to": target}, headers=api.h("consultant")
            ).status_code
            == 200
        )
    r = api.client.post(
        f"/api/tickets/{tid}/transition",
        json={"to": "completed", "solution": "Zaktualizować program."},
        headers=api.h("consultant"),
    )
    done = r.json()
    assert (
        done["state"] == "completed" and done["resolution"] == "resolved" and done["completed_at"]
    )
    assert done["solution"] == "Zaktualizować program."
    history = done["history"]
    module_change = next(h for h in history if h["field"] == "module")
    assert module_change["old_value"] == "" and module_change["new_value"] == "Handel"
    assert module_change["actor"] == "Consultant"
    assert [h["new_value"] for h in history if h["action"] == "transition"] == [
        "analysing",
        "in_progress",
        "completed",
    ]
    with api.container.db.read() as s:
        kinds = [j.kind for j in s.scalars(select(OutboxJobRow))]
    assert "search.index" in kinds
    # Reopen takes it out of the index again (a job is written).
    api.client.post(
        f"/api/tickets/{tid}/transition", json={"to": "in_progress"}, headers=api.h("consultant")
    )
    r = api.client.get("/api/tickets", params={"state": "in_progress"}, headers=api.h())
    assert [t["id"] for t in r.json()["items"]] == [tid]


def test_do_not_contact_warning_on_every_read(api: Api) -> None:
    client = _client(api, dnc=True, licence="EN-777")
    r = api.client.get("/api/clients", params={"licence": "EN-777"}, headers=api.h("consultant"))
    assert r.json()["items"][0]["do_not_contact"] is True
    r = api.client.get("/api/clients", params={"q": "łączka"}, headers=api.h("consultant"))
    assert [c["id"] for c in r.json()["items"]] == [client["id"]]
    r = api.client.post(
        "/api/tickets", json={"title": "Pytanie", "licence": "EN-777"}, headers=api.h("consultant")
    )
    ticket = r.json()
    assert ticket["client_id"] == client["id"] and ticket["partner_id"] == client["partner"]["id"]
    assert "Zakaz kontaktu" in ticket["warnings"]
    assert (
        "Zakaz kontaktu"
        in api.client.get(f"/api/tickets/{ticket['id']}", headers=api.h()).json()["warnings"]
    )
    listed = api.client.get("/api/tickets", headers=api.h()).json()["items"]
    assert "Zakaz kontaktu" in listed[0]["warnings"]


def test_phone_event_closed_into_a_task(api: Api) -> None:
    _client(api, licence="EN-5")
    r = api.client.post(
        "/api/phone-events",
        json={
            "title": "Nie drukuje paragonu",
            "description": "COM3",
            "licence": "EN-5",
            "contact_name": "Jan Kowalski",
            "contact_email": "jan@piekarnia.pl",
        },
        headers=api.h("consultant"),
    )
    assert r.status_code == 201
    event = r.json()
    assert event["number"] == f"ZT/{YEAR}/1" and event["state"] == "in_progress"
    assert len(event["time_entries"]) == 1 and event["time_entries"][0]["stopped_at"] is None
    r = api.client.post(
        f"/api/tickets/{event['id']}/close-event",
        json={"create_task": True, "definition": "ZS", "priority": "wysoki"},
        headers=api.h("consultant"),
    )
    assert r.status_code == 200
    closed = r.json()
    assert closed["event"]["state"] == "completed"
    assert closed["event"]["time_entries"][0]["stopped_at"] is not None
    task = closed["task"]
    assert task["number"] == f"ZS/{YEAR}/1" and task["parent"]["id"] == event["id"]
    assert task["title"] == "Nie drukuje paragonu" and task["priority"] == "wysoki"
    assert task["licence"] == "EN-5" and task["contact_id"] == event["contact_id"]
    assert closed["event"]["children"][0]["id"] == task["id"]
    # An event is closed once.
    r = api.client.post(
        f"/api/tickets/{event['id']}/close-event",
        json={"create_task": False},
        headers=api.h("consultant"),
    )
    assert r.status_code == 409


def test_stopwatch_and_manual_time(api: Api) -> None:
    tid = api.client.post("/api/tickets", json={"title": "x"}, headers=api.h("consultant")).json()[
        "id"
    ]
    assert (
        api.client.post(f"/api/tickets/{tid}/timer/stop", headers=api.h("consultant")).status_code
        == 409
    )
    assert (
        api.client.post(f"/api/tickets/{tid}/timer/start", headers=api.h("consultant")).status_code
        == 200
    )
    r = api.client.post(f"/api/tickets/{tid}/timer/stop", headers=api.h("consultant"))
    assert r.status_code == 200 and r.json()["entry"]["seconds"] >= 0
    r = api.client.post(
        f"/api/tickets/{tid}/time",
        json={"minutes": 15, "note": "telefon"},
        headers=api.h("curator"),
    )
    assert r.status_code == 201 and r.json()["total_s"] >= 900
    assert len(api.client.get(f"/api/tickets/{tid}", headers=api.h()).json()["time_entries"]) == 2


def test_reuse_counts_toward_the_source(api: Api) -> None:
    h = api.h("consultant")
    src = api.client.post("/api/tickets", json={"title": "źródło"}, headers=h).json()["id"]
    api.client.post(f"/api/tickets/{src}/transition", json={"to": "in_progress"}, headers=h)
    api.client.post(
        f"/api/tickets/{src}/transition", json={"to": "completed", "solution": "tak"}, headers=h
    )
    new = api.client.post("/api/tickets", json={"title": "nowe"}, headers=h).json()["id"]
    assert (
        api.client.post(
            f"/api/tickets/{new}/reuse", json={"source_ticket_id": src}, headers=h
        ).status_code
        == 200
    )
    api.client.post(f"/api/tickets/{new}/reuse", json={"source_ticket_id": src}, headers=h)
    assert api.client.get(f"/api/tickets/{src}", headers=h).json()["reuse_count"] == 1


def test_attachment_is_sniffed_and_served_as_download(api: Api) -> None:
    tid = api.client.post("/api/tickets", json={"title": "x"}, headers=api.h()).json()["id"]
    html = b"<html><script>alert(1)</script></html>"
    r = api.client.post(
        f"/api/tickets/{tid}/attachments",
        files={"data": ("raport.pdf", html, "application/pdf")},
        headers=api.h(),
    )
    assert r.status_code == 201, r.text
    att = r.json()["attachments"][0]
    assert att["content_type"] == "text/plain"  # sniffed, not trusted
    r = api.client.get(f"/api/attachments/{att['id']}", headers=api.h())
    assert r.content == html
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert not r.headers["content-type"].startswith("text/html")


def test_admin_edits_a_definition(api: Api) -> None:
    body = {
        "name": "Reklamacja",
        "kind": "task",
        "number_pattern": "RK/{year}/{n}",
        "states": [
            {"code": "reported", "label_pl": "Zgłoszony", "label_en": "Reported"},
            {"code": "completed", "label_pl": "Zakończony", "label_en": "Completed"},
        ],
        "transitions": {"reported": ["completed"]},
        "initial_state": "reported",
        "final_states": ["completed"],
    }
    assert (
        api.client.put("/api/definitions/RK", json=body, headers=api.h("consultant")).status_code
        == 403
    )
    assert api.client.put("/api/definitions/RK", json=body, headers=api.h()).status_code == 200
    r = api.client.post("/api/tickets", json={"definition": "RK", "title": "x"}, headers=api.h())
    assert r.json()["number"] == f"RK/{YEAR}/1"
    bad = {**body, "initial_state": "nowhere"}
    r = api.client.put("/api/definitions/RK", json=bad, headers=api.h())
    assert r.status_code == 422 and r.json()["field"] == "initial_state"


def test_openapi_and_ready(api: Api) -> None:
    r = api.client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert "/api/tickets/{ticket_id}/transition" in r.json()["paths"]
    assert api.client.get("/metrics").status_code == 200
