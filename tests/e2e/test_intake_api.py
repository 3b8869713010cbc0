"""The intake queue through HTTP: the MTA pipe, the public form, accept / drop / restore."""

from __future__ import annotations

import datetime as dt

from tests.e2e.conftest import Api

YEAR = dt.datetime.now(dt.UTC).year


def _mail(
    message_id: str,
    subject: str = "Nie działa wysyłka faktur",
    sender: str = "jan@firma.pl",
    extra: str = "",
) -> bytes:
    return (
        f"From: Jan Kowalski <{sender}>\r\nTo: pomoc@sedno.localhost\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Dzień dobry, od rana nie możemy wysłać faktur do KSeF. Proszę o pomoc.\r\n"
    ).encode()


def _pipe(api: Api, raw: bytes, ctype: str = "message/rfc822"):  # type: ignore[no-untyped-def]
    return api.client.post(
        "/api/intake/mail", content=raw, headers={**api.h(), "Content-Type": ctype}
    )


def test_pipe_dedupes_and_accept_opens_a_ticket(api: Api) -> None:
    r = _pipe(api, _mail("a1@firma.pl"))
    assert r.status_code == 202, r.text
    call_id = r.json()["call_id"]
    assert r.json()["status"] == "pending"
    again = _pipe(api, _mail("a1@firma.pl"))
    assert again.status_code == 200 and again.json()["call_id"] == call_id
    assert _pipe(api, b"x", ctype="application/json").status_code == 415

    calls = api.client.get(
        "/api/intake/calls", params={"status": "pending"}, headers=api.h("consultant")
    ).json()
    assert [c["id"] for c in calls["items"]] == [call_id]
    assert calls["items"][0]["classification"] == "ham"

    r = api.client.post(
        f"/api/intake/calls/{call_id}/accept",
        json={"definition": "ZS", "priority": "wysoki"},
        headers=api.h("consultant"),
    )
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["number"] == f"ZS/{YEAR}/1" and ticket["title"] == "Nie działa wysyłka faktur"
    assert ticket["contact_email"] == "jan@firma.pl" and ticket["priority"] == "wysoki"
    assert ticket["messages"][0]["direction"] == "in"
    # Accepting twice is refused; the call is accepted.
    assert (
        api.client.post(f"/api/intake/calls/{call_id}/accept", json={}, headers=api.h()).status_code
        == 409
    )


def test_drop_restore_and_bulk(api: Api) -> None:
    ids = [
        _pipe(api, _mail(f"b{i}@firma.pl", subject=f"Oferta {i}")).json()["call_id"]
        for i in range(3)
    ]
    r = api.client.post(
        f"/api/intake/calls/{ids[0]}/drop", json={"reason": "not_ours"}, headers=api.h("consultant")
    )
    assert r.status_code == 200 and r.json()["status"] == "dropped"
    r = api.client.post(
        f"/api/intake/calls/{ids[0]}/drop", json={"reason": "whatever"}, headers=api.h("consultant")
    )
    assert (r.status_code, r.json()["field"]) == (400, "reason")  # an enum in the schema
    r = api.client.post(f"/api/intake/calls/{ids[0]}/restore", headers=api.h("consultant"))
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = api.client.post(
        "/api/intake/calls/drop", json={"ids": ids, "reason": "spam"}, headers=api.h("consultant")
    )
    assert r.json() == {"dropped": 3}
    dropped = api.client.get(
        "/api/intake/calls", params={"status": "dropped"}, headers=api.h()
    ).json()
    assert {c["id"] for c in dropped["items"]} == set(ids)


def test_public_form_honeypot_and_errors(api: Api) -> None:
    body = {
        "name": "Anna",
        "email": "anna@klient.pl",
        "subject": "Pytanie o JPK",
        "body": "Jak wysłać JPK_V7M?",
    }
    r = api.client.post("/api/intake/form", json=body)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    r = api.client.post("/api/intake/form", json={**body, "website": "http://spam.example"})
    assert r.status_code == 202  # the bot learns nothing
    r = api.client.post("/api/intake/form", json={**body, "email": "not-an-address"})
    assert r.status_code in (400, 422) and r.json()["field"] == "email"
    r = api.client.post("/api/intake/form", json={"name": "x"})
    assert r.status_code == 400 and r.json()["field"] in {"email", "subject", "body"}
    codes = [
        api.client.post("/api/intake/form", json={**body, "subject": f"s{i}"}).status_code
        for i in range(40)
    ]
    assert 429 in codes
    limited = api.client.post("/api/intake/form", json={**body, "subject": "again"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    pending = api.client.get("/api/intake/calls", params={"source": "form"}, headers=api.h()).json()
    statuses = {c["status"] for c in pending["items"]}
    assert "dropped" in statuses  # the honeypot submission, kept and visible


def test_phone_event_shows_in_queue_history(api: Api) -> None:
    r = api.client.post(
        "/api/phone-events", json={"title": "Telefon: drukarka"}, headers=api.h("consultant")
    )
    assert r.status_code == 201
    calls = api.client.get("/api/intake/calls", params={"source": "phone"}, headers=api.h()).json()[
        "items"
    ]
    assert (
        len(calls) == 1
        and calls[0]["status"] == "accepted"
        and calls[0]["ticket_id"] == r.json()["id"]
    )
