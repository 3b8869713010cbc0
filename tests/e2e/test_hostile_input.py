"""Hostile input, second round: each hole the probe found, closed (issue 14)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api import metrics
from tests.e2e.conftest import Api
from tickets.accounts import login_limits
from tickets.accounts.auth import create_user

PROBLEM = "application/problem+json"
FORM = {"name": "Jan", "email": "jan@firma.pl", "subject": "Faktura", "body": "Nie drukuje się."}


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# 1. A body nested deep enough to exhaust the parser ---------------------------------------------


@pytest.mark.parametrize("path", ["/api/intake/form", "/api/tickets", "/api/search/similar"])
def test_deeply_nested_json_is_400_malformed_body_on_every_route(api: Api, path: str) -> None:
    for headers in ({}, api.h()):  # without a token (refused before auth) and with one
        r = api.client.post(
            path, content=_deep(1000), headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"] == "malformed-body"
        assert "32" in r.json()["detail"]


def test_deep_json_on_a_route_without_a_body_and_on_a_ui_page_is_refused(api: Api) -> None:
    r = api.client.post(
        "/api/devops/webhook", content=_deep(5000), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["type"] == "malformed-body"


def test_depth_scan_ignores_brackets_inside_strings() -> None:
    from api.middleware import json_depth_exceeds

    assert not json_depth_exceeds(b'{"a": "' + b"[" * 500 + b'"}', 32)
    assert not json_depth_exceeds(b'["\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]', 32)
    assert json_depth_exceeds(_deep(33).encode(), 32)
    assert not json_depth_exceeds(_deep(32).encode(), 32)
    assert not json_depth_exceeds(b"[" + b"{}," * 1000 + b"{}]", 32)


# 2. The client address: the connection, unless the peer is a trusted proxy ------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(api: Api) -> None:
    """60 form posts with rotating X-Forwarded-For got 202; the 11th from one address is 429."""
    statuses = []
    for i in range(12):
        body = {**FORM, "email": f"nadawca{i}@firma.pl"}
        r = api.client.post(
            "/api/intake/form", json=body, headers={"X-Forwarded-For": f"198.51.100.{i}"}
        )
        statuses.append(r.status_code)
    assert statuses[:10] == [202] * 10
    assert statuses[10:] == [429, 429]
    assert api.client.post("/api/intake/form", json=FORM).json()["field"] == "client_address"


def test_right_most_untrusted_forwarded_entry_is_the_client() -> None:
    from api.middleware import client_address, parse_networks

    trusted = parse_networks(("10.0.0.0/8", "192.0.2.1"))
    # Nothing trusted: the peer, whatever the header says.
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
    # An untrusted peer's header proves nothing.
    assert client_address("203.0.113.5", ["198.51.100.1"], trusted) == "203.0.113.5"
    # Behind two trusted proxies: the entry they were handed; what the client wrote is ignored.
    header = ["6.6.6.6, 203.0.113.7", "10.1.2.3"]
    assert client_address("192.0.2.1", header, trusted) == "203.0.113.7"
    assert client_address("10.9.9.9", ["[2001:db8::1]:443"], trusted) == "2001:db8::1"
    # A malformed entry where the client's address should be: the proxy itself is the client.
    assert client_address("10.9.9.9", ["not-an-ip"], trusted) == "10.9.9.9"


def test_a_trusted_proxy_forwards_the_client_address(api: Api) -> None:
    """The peer is a trusted proxy: each client behind it gets its own form quota."""
    from api.app import create_app

    settings = api.container.settings
    import msgspec

    app = create_app(
        msgspec.structs.replace(settings, trusted_proxies=("10.0.0.0/8",)),
        container=api.container,
        run_workers=False,
    )

    async def behind_proxy(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["client"] = ("10.0.0.2", 40000)
        await app(scope, receive, send)

    with TestClient(behind_proxy) as client:  # type: ignore[arg-type]
        for i in range(10):
            body = {**FORM, "email": f"a{i}@firma.pl"}
            r = client.post("/api/intake/form", json=body, headers={"X-Forwarded-For": "6.6.6.6"})
            assert r.status_code == 202, r.text
        r = client.post(
            "/api/intake/form",
            json={**FORM, "email": "b@firma.pl"},
            headers={"X-Forwarded-For": "6.6.6.6"},
        )
        assert r.status_code == 429
        r = client.post(
            "/api/intake/form",
            json={**FORM, "email": "c@firma.pl"},
            headers={"X-Forwarded-For": "6.6.6.7"},
        )
        assert r.status_code == 202


def test_sedno_serve_does_not_let_uvicorn_trust_forwarded_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import uvicorn

    from api import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("SEDNO_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli.main, ["serve", "--no-workers", "--port", "8999"])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False


# 3. Login limits per (login, address) and per address, never global ---------------------------


def _login(client: TestClient[Any], login: str, password: str = "", token: str = "") -> Any:
    form = client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert csrf
    return client.post(
        "/login",
        data={"_csrf_token": csrf.group(1), "login": login, "password": password, "token": token},
        follow_redirects=False,
    )


def test_failed_token_logins_lock_no_one_else(api: Api) -> None:
    """Five failed token logins used to lock every token login out (429), from everywhere."""
    for _ in range(login_limits.PER_LOGIN_ADDRESS):
        assert _login(api.client, "", token="sdn_wrong").status_code == 401
    assert _login(api.client, "", token="sdn_wrong").status_code == 429  # this address, locked
    with api.container.db.transaction() as s:  # another address's failures, recorded
        for _ in range(login_limits.PER_LOGIN_ADDRESS):
            login_limits.record_failure(s, "", "203.0.113.50")
    with api.container.db.read() as s:
        assert login_limits.check_allowed(s, "", "203.0.113.51") == 0.0  # a clean address


def test_a_locked_login_still_lets_its_owner_in_from_another_address(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login_limits, "DELAY_STEP_S", 0.2)
    with api.container.db.transaction() as s:
        create_user(s, login="anna", name="Anna", role="consultant", password="anna-haslo-1")
        # Someone guessed anna's password from 6 other addresses, 5 times each.
        for n in range(6):
            for _ in range(login_limits.PER_LOGIN_ADDRESS):
                login_limits.record_failure(s, "anna", f"198.51.100.{n}")
    with api.container.db.read() as s:
        with pytest.raises(login_limits.TooManyAttempts):
            login_limits.check_allowed(s, "anna", "198.51.100.0")
        delay = login_limits.check_allowed(s, "Anna", "testclient")
    assert delay == login_limits.DELAY_MAX_S or delay > 0
    monkeypatch.setattr(login_limits, "DELAY_MAX_S", 0.3)
    started = time.monotonic()
    ok = _login(api.client, "anna", "anna-haslo-1")  # from the owner's own address
    assert ok.status_code == 303, ok.text
    assert time.monotonic() - started >= 0.3  # slowed down, not locked


def test_guessing_from_one_address_still_locks_that_pair(api: Api) -> None:
    with api.container.db.transaction() as s:
        create_user(s, login="anna", name="Anna", role="consultant", password="anna-haslo-1")
    for _ in range(login_limits.PER_LOGIN_ADDRESS):
        assert _login(api.client, "anna", "zgadywane").status_code == 401
    assert _login(api.client, "anna", "anna-haslo-1").status_code == 429


# 4. CSRF and other refusals are counted and logged as what they are ---------------------------


def _count(status: str) -> float:
    total = 0.0
    for line in metrics.HTTP_REQUESTS.render():
        if f'status="{status}"' in line and line.startswith("sedno_http_requests_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_csrf_refusal_is_counted_as_403_not_500(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    before_403, before_500 = _count("403"), _count("500")
    with caplog.at_level("INFO", logger="sedno.access"):
        r = api.client.post("/login", data={"login": "anna", "password": "x"})
    assert r.status_code == 403
    assert _count("403") == before_403 + 1
    assert _count("500") == before_500
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "sedno.access"]
    assert any(line.startswith("POST /login 403") for line in lines), lines
    # A body the guard refuses is counted as its 400 too.
    api.client.post(
        "/api/tickets", content=_deep(100), headers={"Content-Type": "application/json"}
    )
    assert _count("500") == before_500


# 5. The JSON API: bearer tokens, or the session cookie with the CSRF token; JSON only --------


def _session(api: Api) -> tuple[TestClient[Any], str]:
    """A browser session: logged in, with the page's CSRF token."""
    with api.container.db.transaction() as s:
        create_user(s, login="ola", name="Ola", role="consultant", password="ola-haslo-12")
    assert _login(api.client, "ola", "ola-haslo-12").status_code == 303
    page = api.client.get("/")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    return api.client, csrf.group(1)


def test_session_cookie_alone_cannot_change_anything_through_the_api(api: Api) -> None:
    client, csrf = _session(api)
    body = {"definition": "ZS", "title": "Z ciasteczka"}
    r = client.post("/api/tickets", json=body)
    assert r.status_code == 403, r.text  # no CSRF token: refused before the handler
    assert r.headers["content-type"].startswith(PROBLEM)
    r = client.post("/api/tickets", json=body, headers={"X-CSRFToken": "forged" * 10})
    assert r.status_code == 403
    r = client.post("/api/tickets", json=body, headers={"X-CSRFToken": csrf})
    assert r.status_code == 201, r.text  # the UI's own call (app.js sends the token)
    # Reading with the cookie stays possible (attachment downloads, CSV links).
    assert client.get(f"/api/tickets/{r.json()['id']}").status_code == 200


def test_json_routes_refuse_other_content_types_with_415(api: Api) -> None:
    body = '{"definition": "ZS", "title": "Jako tekst"}'
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = api.client.post(
            "/api/tickets", content=body, headers={**api.h(), "Content-Type": ctype}
        )
        assert r.status_code == 415, (ctype, r.text)
        assert r.json()["type"] == "unsupported-media-type"
    r = api.client.post(
        "/api/intake/form", content='{"name": "x"}', headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    r = api.client.post(
        "/api/tickets",
        content=body,
        headers={**api.h(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


# 6. Address fields hold one address -------------------------------------------------------------

BAD_ADDRESSES = [
    "victim1@evil.pl, victim2@evil.pl",
    "not-an-email",
    "jan@klient.pl\r\nBcc: ofiara@evil.pl",
    "Jan Kowalski <jan@klient.pl>",
]


@pytest.mark.parametrize("value", BAD_ADDRESSES)
def test_contact_email_must_be_one_address(api: Api, value: str) -> None:
    body = {"definition": "ZS", "title": "Adres", "contact_email": value}
    r = api.client.post("/api/tickets", json=body, headers=api.h())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["field"] == "contact_email"
    event = {"title": "Telefon", "contact_email": value}
    r = api.client.post("/api/phone-events", json=event, headers=api.h())
    assert (r.status_code, r.json()["field"]) == (422, "contact_email")


def test_every_address_field_is_checked_and_normalised(api: Api) -> None:
    bad = BAD_ADDRESSES[0]
    for path, body in (
        ("/api/clients", {"name": "Firma", "email": bad}),
        ("/api/partners", {"name": "Partner", "email": bad}),
        ("/api/users", {"login": "nowy", "name": "Nowy", "email": bad}),
    ):
        r = api.client.post(path, json=body, headers=api.h())
        assert (r.status_code, r.json().get("field")) == (422, "email"), (path, r.text)
    ticket = api.client.post(
        "/api/tickets",
        json={"definition": "ZS", "title": "Dobry adres", "contact_email": " Jan@Klient.PL "},
        headers=api.h(),
    )
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["contact_email"] == "Jan@klient.pl"
    r = api.client.patch(
        f"/api/tickets/{ticket.json()['id']}", json={"contact_email": bad}, headers=api.h()
    )
    assert (r.status_code, r.json()["field"]) == (422, "contact_email")


# 7. Strict types; unknown fields refused everywhere ---------------------------------------------


def test_loose_types_are_refused_naming_the_field(api: Api) -> None:
    ticket = api.client.post(
        "/api/tickets", json={"definition": "ZS", "title": "Ścisłe typy"}, headers=api.h()
    ).json()
    tid = ticket["id"]
    for path, method, body, field in (
        (f"/api/tickets/{tid}/reuse", "post", {"source_ticket_id": "1"}, "source_ticket_id"),
        (f"/api/tickets/{tid}", "patch", {"verified": 0}, "verified"),
        (f"/api/tickets/{tid}", "patch", {"reported_at": 0}, "reported_at"),
        ("/api/tickets", "post", {"title": "x", "client_id": "7"}, "client_id"),
        ("/api/tickets", "post", {"title": "x", "keywords": "faktura"}, "keywords"),
    ):
        r = api.client.request(method, path, json=body, headers=api.h())
        assert r.status_code == 400, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["field"] == field, r.json()
    r = api.client.patch(f"/api/tickets/{tid}", json={"reported_at": "2026-11-30T10:00:00Z"})
    assert r.status_code == 401  # sanity: the strict check does not stand in for auth
    r = api.client.patch(
        f"/api/tickets/{tid}", json={"reported_at": "2026-11-30T10:00:00Z"}, headers=api.h()
    )
    assert r.status_code == 200, r.text


def test_the_public_form_refuses_unknown_fields_like_every_other_route(api: Api) -> None:
    r = api.client.post("/api/intake/form", json={**FORM, "priority": "krytyczny"})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "priority"
    r = api.client.post("/api/intake/form", json={**FORM, "name": 12})
    assert (r.status_code, r.json()["field"]) == (400, "name")
    r = api.client.post("/api/tickets", json={"title": "x", "prioryty": "wysoki"}, headers=api.h())
    assert (r.status_code, r.json()["field"]) == (400, "prioryty")


# 8. The OpenAPI document says what the server does (schemathesis: test_openapi_conformance) ----


def test_openapi_security_is_per_route_as_enforced(api: Api) -> None:
    spec = api.client.get("/schema/openapi.json").json()
    paths = spec["paths"]
    assert paths["/api/intake/form"]["post"]["security"] == []  # the public form is public
    assert paths["/health"]["get"]["security"] == []
    assert paths["/api/tickets"]["post"]["security"] == [{"bearer": []}]
    webhook = paths["/api/devops/webhook"]["post"]["security"]
    assert webhook == [{"webhook_basic": []}, {"webhook_secret": []}]
    assert {"bearer", "webhook_basic", "webhook_secret"} <= set(
        spec["components"]["securitySchemes"]
    )
    # What the server refuses is in the document: unknown fields, enums, limits, addresses.
    schemas = spec["components"]["schemas"]
    assert schemas["TicketCreate"]["additionalProperties"] is False
    assert schemas["FormSubmission"]["additionalProperties"] is False
    assert sorted(schemas["DropIn"]["properties"]["reason"]["enum"]) == [
        "duplicate",
        "not_ours",
        "spam",
    ]
    email = schemas["TicketCreate"]["properties"]["contact_email"]["anyOf"][0]
    assert email["format"] == "email"
    client_id = schemas["TicketCreate"]["properties"]["client_id"]["anyOf"][0]
    assert client_id["maximum"] == 2**31 - 1
    mail = paths["/api/intake/mail"]["post"]
    assert "message/rfc822" in mail["requestBody"]["content"]
    assert {"200", "202"} <= set(mail["responses"])


def test_allow_names_every_method_of_a_path(api: Api) -> None:
    spec = api.client.get("/schema/openapi.json").json()
    methods = {"get", "put", "post", "patch", "delete"}
    for path in ("/api/tickets", "/api/tickets/{ticket_id}", "/api/clients/{client_id}"):
        documented = {m.upper() for m in spec["paths"][path] if m in methods}
        url = path.replace("{ticket_id}", "1").replace("{client_id}", "1")
        allow = api.client.options(url).headers["allow"]
        assert {m.strip() for m in allow.split(",")} - {"OPTIONS", "HEAD"} == documented, path
    r = api.client.delete("/api/tickets", headers=api.h())
    assert r.status_code == 405 and "GET" in r.headers["allow"] and "POST" in r.headers["allow"]


# 10. Error texts name the field the user sent and its real size ------------------------------


def test_error_texts_name_the_field_and_its_real_size(api: Api) -> None:
    r = api.client.post(
        "/api/search/similar", json={"text": "faktura", "exclude_ids": [2**70]}, headers=api.h()
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == "exclude_ids[0]"
    assert str(2**70) in r.json()["detail"] and "filters" not in r.json()["detail"]
    r = api.client.get("/api/tickets?offset=75463708474348", headers=api.h())
    assert (r.status_code, r.json()["field"]) == (400, "offset")
    ticket = api.client.post("/api/tickets", json={"title": "Plik"}, headers=api.h()).json()
    upload = f"/api/tickets/{ticket['id']}/attachments"
    name = "a" * 5000 + ".txt"
    r = api.client.post(upload, files={"file": (name, b"hello")}, headers=api.h())
    assert (r.status_code, r.json()["field"]) == (422, "filename"), r.text
    assert "5004 characters" in r.json()["detail"]
    limit = api.container.settings.attachment_max_bytes
    size = limit + 3 * 1024 * 1024
    r = api.client.post(upload, files={"file": ("duzy.bin", b"x" * size)}, headers=api.h())
    assert (r.status_code, r.json()["field"]) == (422, "file"), r.text
    assert f"{size} bytes is over the limit of {limit}" in r.json()["detail"]
    too_big = api.container.settings.request_max_bytes + 10
    r = api.client.post(
        upload, content=b"x" * too_big, headers={**api.h(), "Content-Type": "multipart/form-data"}
    )
    assert r.status_code == 413 and str(too_big) in r.json()["detail"]


# 11. A long value a redirect would echo never makes an oversized Location -----------------------

LOCATION_LIMIT = 8 * 1024
"""What proxies take by default for one header line (nginx's `large_client_header_buffers`)."""


def _curator_session(api: Api) -> tuple[TestClient[Any], str]:
    with api.container.db.transaction() as s:
        create_user(s, login="kasia", name="Kasia", role="curator", password="kasia-haslo-12")
    assert _login(api.client, "kasia", "kasia-haslo-12").status_code == 303
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', api.client.get("/").text)
    assert csrf
    return api.client, csrf.group(1)


def test_redirects_do_not_echo_a_long_value_into_the_location_header(api: Api) -> None:
    long_path = "/tickets?q=" + "faktura%20" * 1000
    r = api.client.get(f"/lang/en?next={long_path}", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "/")
    api.client.cookies.clear()
    r = api.client.get(long_path, follow_redirects=False)  # not logged in: to the login page
    assert r.status_code in (302, 303) and r.headers["location"] == "/login?next=/"
    client, csrf = _curator_session(api)
    added = client.post(
        "/curation/keywords",
        data={"_csrf_token": csrf, "name": "KSeF", "synonyms": "e-faktura"},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    keyword_id = re.search(r"/curation/keywords/(\d+)", client.get(added.headers["location"]).text)
    assert keyword_id
    # The list's filter goes back with the saved change, cut to the search's length.
    r = client.post(
        f"/curation/keywords/{keyword_id.group(1)}",
        data={"_csrf_token": csrf, "name": "KSeF", "synonyms": "e-faktura", "q": "ksef " * 40_000},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert len(r.headers["location"]) < LOCATION_LIMIT
    assert r.headers["location"].startswith("/curation/keywords?saved=edited&q=ksef+ksef")
    r = client.post(
        "/notifications/read",
        data={"_csrf_token": csrf, "next": "/tickets/" + "1" * 100_000},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
