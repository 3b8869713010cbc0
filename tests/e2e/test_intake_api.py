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


def test_a_mail_with_a_19_mib_attachment_is_taken_in_not_refused(api: Api) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Jan <jan@firma.pl>"
    message["To"] = "pomoc@sedno.localhost"
    message["Subject"] = "Kopia bazy"
    message["Message-ID"] = "<big-1@firma.pl>"
    message.set_content("W załączeniu kopia bazy.")
    size = 19 * 1024 * 1024
    message.add_attachment(
        b"\x01" * size, maintype="application", subtype="octet-stream", filename="baza.bak"
    )
    raw = message.as_bytes()
    assert len(raw) > 25 * 1024 * 1024  # over the API's request cap once base64-encoded
    r = _pipe(api, raw)
    assert r.status_code == 202, r.text[:300]
    call = api.client.get(f"/api/intake/calls/{r.json()['call_id']}", headers=api.h()).json()
    assert [(a["filename"], a["size"]) for a in call["attachments"]] == [("baza.bak", size)]


def test_a_threaded_mail_can_be_moved_out_of_its_ticket(api: Api) -> None:
    r = _pipe(api, _mail("t1@firma.pl"))
    call_id = r.json()["call_id"]
    ticket = api.client.post(
        f"/api/intake/calls/{call_id}/accept", json={}, headers=api.h("consultant")
    ).json()
    reply = _mail("t2@firma.pl", subject="Re: sprawa", extra="In-Reply-To: <t1@firma.pl>\r\n")
    assert _pipe(api, reply).json()["status"] == "threaded"
    shown = api.client.get(f"/api/tickets/{ticket['id']}", headers=api.h()).json()
    threaded = [m for m in shown["messages"] if m["subject"] == "Re: sprawa"]
    assert threaded[0]["spam_score"] is not None and threaded[0]["sender_flag"] == ""
    moved = api.client.post(
        f"/api/tickets/{ticket['id']}/messages/{threaded[0]['id']}/move-out", headers=api.h()
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["status"] == "pending"
    assert (
        api.client.post(
            f"/api/tickets/{ticket['id']}/messages/999999/move-out", headers=api.h()
        ).status_code
        == 404
    )
