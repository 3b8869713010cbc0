"""The telephony routes through Litestar's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from api.container import Container
from tests.e2e.conftest import ADMIN, Api
from tests.services.apps import serving
from tickets.accounts.auth import create_user, ensure_bootstrap_admin
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import load_settings
from tickets.telephony.settings import load_telephony_settings
from tickets.telephony.statuses import seed_statuses

SECRET = "pbx-shared-secret"
PBX = {"X-Sedno-Secret": SECRET}


@pytest.fixture
def tapi(db: Database, tmp_path: Path, api_client: TestClient) -> Iterator[Api]:  # type: ignore[type-arg]
    env = {
        "SEDNO_DATA_DIR": str(tmp_path / "data"),
        "SEDNO_ADMIN_TOKEN": ADMIN,
        "SEDNO_DATABASE_URL": db.url,
        "SEDNO_TELEPHONY_SECRET": SECRET,
        "SEDNO_TELEPHONY_QUEUE_EXTENSION": "800",
        "SEDNO_TELEPHONY_WRAP_UP_S": "0",
    }
    settings = load_settings(env)
    tokens = {"admin": ADMIN}
    with db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
        seed_statuses(s)
        _, tokens["consultant"] = create_user(s, login="konsultant", name="Anna", role="consultant")
    container = Container(
        settings=settings,
        db=db,
        blobs=BlobStore(tmp_path / "data" / "blobs"),
        telephony=load_telephony_settings(env),
    )
    with serving(api_client, container) as client:
        yield Api(client=client, container=container, tokens=tokens)


def _me(api: Api) -> int:
    answer = api.client.get("/api/me", headers=api.h("consultant"))
    assert answer.status_code == 200, answer.text
    return int(answer.json()["user_id"])


def _client_with_phone(api: Api) -> int:
    answer = api.client.post(
        "/api/clients",
        json={"name": "Biuro Rachunkowe Lis", "phone": "+48 600 100 200", "do_not_contact": True},
        headers=api.h(),
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_status_and_extension_routes(tapi: Api) -> None:
    me = _me(tapi)
    listed = tapi.client.get("/api/telephony/statuses", headers=tapi.h("consultant")).json()
    assert [(i["code"], i["label_pl"]) for i in listed["items"]] == [
        ("available", "Wolny"),
        ("on_call", "Rozmowa z klientem"),
        ("break", "Przerwa"),
        ("away", "Niedostępny"),
    ]
    answer = tapi.client.put(
        f"/api/users/{me}/telephony", json={"extension": "101"}, headers=tapi.h()
    )
    assert answer.status_code == 200 and answer.json()["extension"] == "101"
    answer = tapi.client.put(
        "/api/me/status", json={"status": "available"}, headers=tapi.h("consultant")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "available" and answer.json()["status_label"] == "Wolny"
    bad = tapi.client.put("/api/me/status", json={"status": "lunch"}, headers=tapi.h("consultant"))
    assert bad.status_code == 422 and bad.json()["field"] == "status"
    assert bad.headers["content-type"].startswith("application/problem+json")
    bad = tapi.client.put(
        f"/api/users/{me}/telephony", json={"extension": "10 1"}, headers=tapi.h()
    )
    assert bad.status_code == 400 and bad.json()["field"] == "extension"
    # Another user may not change someone's extension; an admin may.
    answer = tapi.client.put("/api/users/1/telephony", json={"extension": "101"},
                             headers=tapi.h("consultant"))  # fmt: skip
    assert answer.status_code == 403
    taken = tapi.client.put("/api/users/1/telephony", json={"extension": "101"}, headers=tapi.h())
    assert taken.status_code == 422 and taken.json()["field"] == "extension"


def test_pbx_events_need_the_secret_and_are_idempotent(tapi: Api) -> None:
    me = _me(tapi)
    tapi.client.put(f"/api/users/{me}/telephony", json={"extension": "101"}, headers=tapi.h())
    tapi.client.put("/api/me/status", json={"status": "available"}, headers=tapi.h("consultant"))
    event = {"call_id": "a-1", "event": "answered", "caller": "600100200", "extension": "101"}
    assert tapi.client.post("/api/telephony/events", json=event).status_code == 401
    wrong = tapi.client.post("/api/telephony/events", json=event, headers={"X-Sedno-Secret": "x"})
    assert wrong.status_code == 401
    assert (
        tapi.client.post(
            "/api/telephony/events", json=event, headers=tapi.h("consultant")
        ).status_code
        == 401
    )  # a user's token is not the PBX
    first = tapi.client.post("/api/telephony/events", json=event, headers=PBX)
    assert first.status_code == 200 and first.json()["outcome"] == "applied"
    ticket_id = first.json()["ticket_id"]
    basic = base64.b64encode(f"asterisk:{SECRET}".encode()).decode()
    again = tapi.client.post(
        "/api/telephony/events", json=event, headers={"Authorization": f"Basic {basic}"}
    )
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert again.json()["ticket_id"] == ticket_id
    ticket = tapi.client.get(f"/api/tickets/{ticket_id}", headers=tapi.h("consultant")).json()
    assert ticket["number"].startswith("ZT/") and ticket["state"] == "in_progress"
    status = tapi.client.get("/api/me/status", headers=tapi.h("consultant")).json()
    assert status["status"] == "on_call"
    # Asterisk's CURL(url,postdata) posts a form.
    ended = tapi.client.post(
        "/api/telephony/events",
        content="call_id=a-1&event=ended&caller=600100200&extension=101",
        headers={**PBX, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    # ... and with no content type at all once CURLOPT(httpheader) has set the secret header.
    bare = tapi.client.post(
        "/api/telephony/events",
        content="call_id=a-2&event=ringing&caller=600100200&extension=101",
        headers={**PBX, "Content-Type": ""},
    )
    assert bare.status_code == 200 and bare.json()["outcome"] == "applied"
    # Wrap-up of 0 s: free at once.
    status = tapi.client.get("/api/me/status", headers=tapi.h("consultant")).json()
    assert status["status"] == "available"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "ringing", "caller": "600100200"}, "call_id"),
        ({"call_id": "x", "event": "hung_up"}, "event"),
        ({"call_id": "x", "event": "ringing", "at": "yesterday"}, "at"),
        ({"call_id": "x", "event": "ringing", "colour": "red"}, "colour"),
    ],
)
def test_bad_events_are_400_naming_the_field(tapi: Api, body: dict[str, str], field: str) -> None:
    answer = tapi.client.post("/api/telephony/events", json=body, headers=PBX)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field
    assert answer.headers["content-type"].startswith("application/problem+json")
    broken = tapi.client.post("/api/telephony/events", content=b"{not json", headers=PBX)
    assert broken.status_code == 400 and broken.json()["field"] == "body"


def test_route_and_lookup_take_the_secret_or_a_token(tapi: Api) -> None:
    me = _me(tapi)
    client_id = _client_with_phone(tapi)
    assert tapi.client.get("/api/telephony/route?caller=600100200").status_code == 401
    queue = tapi.client.get("/api/telephony/route?caller=600100200", headers=PBX)
    assert queue.json() == {
        "extension": "800", "user_id": None, "reason": "queue", "client_id": client_id
    }  # fmt: skip
    tapi.client.put(f"/api/users/{me}/telephony", json={"extension": "101"}, headers=tapi.h())
    tapi.client.put("/api/me/status", json={"status": "available"}, headers=tapi.h("consultant"))
    tapi.client.patch(f"/api/clients/{client_id}", json={"consultant_id": me}, headers=tapi.h())
    routed = tapi.client.get(
        "/api/telephony/route", params={"caller": "0048 600 100 200"}, headers=tapi.h("consultant")
    )
    assert routed.json()["reason"] == "client_consultant" and routed.json()["user_id"] == me
    text = tapi.client.get("/api/telephony/route?caller=600100200&format=text", headers=PBX)
    assert text.text == "101" and text.headers["content-type"].startswith("text/plain")
    looked_up = tapi.client.get(
        "/api/telephony/lookup", params={"number": "+48 600-100-200"}, headers=PBX
    )
    assert looked_up.status_code == 200
    body = looked_up.json()
    assert body["number"] == "+48600100200" and body["client"]["id"] == client_id
    assert body["warnings"][0] == "Zakaz kontaktu" and body["client"]["consultant_id"] == me
    bad = tapi.client.get("/api/telephony/lookup?number=abc", headers=PBX)
    assert bad.status_code == 422 and bad.json()["field"] == "number"


def test_call_backs_list_and_done(tapi: Api) -> None:
    _client_with_phone(tapi)
    for event in ("ringing", "ended"):
        answer = tapi.client.post(
            "/api/telephony/events",
            json={"call_id": "m-1", "event": event, "caller": "600 100 200", "extension": "101"},
            headers=PBX,
        )
        assert answer.status_code == 200
    listed = tapi.client.get("/api/telephony/callbacks", headers=tapi.h("consultant")).json()
    assert [(i["number"], i["do_not_contact"]) for i in listed["items"]] == [("+48600100200", True)]
    done = tapi.client.post(
        f"/api/telephony/callbacks/{listed['items'][0]['id']}/done", headers=tapi.h("consultant")
    )
    assert done.status_code == 200 and done.json() == {"settled": 1}
    assert tapi.client.get("/api/telephony/callbacks", headers=tapi.h()).json()["items"] == []
    assert (
        tapi.client.post("/api/telephony/callbacks/999/done", headers=tapi.h()).status_code == 404
    )


def test_events_without_a_configured_secret_are_refused(api: Api) -> None:
    answer = api.client.post(
        "/api/telephony/events", json={"call_id": "x", "event": "ringing"}, headers=PBX
    )
    assert answer.status_code == 409 and answer.json()["type"] == "telephony-disabled"
