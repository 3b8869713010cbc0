"""The directory: NIP, addresses, contact roles and channels, contact search, partners."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api

NIP = "5260250995"  # a NIP with a valid check digit


def _post(api: Api, url: str, body: dict[str, Any]) -> Any:
    return api.client.post(url, json=body, headers=api.h())


def test_nip_is_stored_as_digits_returned_and_found(api: Api) -> None:
    r = _post(
        api,
        "/api/clients",
        {
            "name": "Piekarnia Łączka",
            "tax_id": "PL 526-025-09-95",
            "address": {"street": "ul. Długa 5", "postal_code": "31-147", "city": "Kraków"},
        },
    )
    assert r.status_code == 201, r.text
    client = r.json()
    assert client["tax_id"] == NIP
    assert client["address"] == {
        "street": "ul. Długa 5",
        "postal_code": "31-147",
        "city": "Kraków",
        "country": "PL",
    }
    _post(api, "/api/clients", {"name": "Inna firma"})
    for q in (NIP, "526-025", "PL5260250995", "526 02"):
        found = api.client.get("/api/clients", params={"q": q}, headers=api.h()).json()
        assert [c["id"] for c in found["items"]] == [client["id"]], q
    shown = api.client.get(f"/api/clients/{client['id']}", headers=api.h()).json()
    assert shown["tax_id"] == NIP and shown["address"]["city"] == "Kraków"


@pytest.mark.parametrize("bad", ["5260250994", "123456789", "52602509951", "NIP 5260250995"])
def test_a_bad_nip_is_422_naming_tax_id(api: Api, bad: str) -> None:
    r = _post(api, "/api/clients", {"name": "X", "tax_id": bad})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "tax_id"
    r = _post(api, "/api/partners", {"name": "X", "tax_id": bad})
    assert r.status_code == 422 and r.json()["field"] == "tax_id"


def test_patching_nip_and_address(api: Api) -> None:
    client = _post(api, "/api/clients", {"name": "Hurtownia"}).json()
    assert client["tax_id"] is None
    r = api.client.patch(
        f"/api/clients/{client['id']}",
        json={"tax_id": "526-025-09-95", "address": {"city": "Gdańsk", "postal_code": "80-001"}},
        headers=api.h(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["tax_id"] == NIP and r.json()["address"]["city"] == "Gdańsk"
    r = api.client.patch(
        f"/api/clients/{client['id']}", json={"tax_id": "1111111112"}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "tax_id"
    r = api.client.patch(
        f"/api/clients/{client['id']}",
        json={"address": {"postal_code": "80001"}},
        headers=api.h(),
    )
    assert r.status_code == 422 and r.json()["field"] == "address.postal_code"
    r = api.client.patch(
        f"/api/clients/{client['id']}",
        json={"address": {"postal_code": "10115", "country": "DE"}},
        headers=api.h(),
    )
    assert r.status_code == 200  # a German postal code is not Polish


def test_partner_has_nip_and_address(api: Api) -> None:
    r = _post(
        api,
        "/api/partners",
        {"name": "Partner", "tax_id": NIP, "address": {"city": "Łódź", "postal_code": "90-001"}},
    )
    assert r.status_code == 201, r.text
    assert r.json()["tax_id"] == NIP and r.json()["address"]["city"] == "Łódź"
    listed = api.client.get("/api/partners", headers=api.h()).json()["items"]
    assert listed[0]["tax_id"] == NIP


def test_contacts_have_roles_channels_and_are_searchable(api: Api) -> None:
    client = _post(api, "/api/clients", {"name": "Piekarnia Łączka"}).json()
    anna = _post(
        api,
        "/api/contacts",
        {
            "name": "Anna Nowak",
            "email": "anna@laczka.pl",
            "phone": "+48 600 100 200",
            "client_id": client["id"],
            "role": "księgowa",
            "preferred_channel": "phone",
        },
    )
    assert anna.status_code == 201, anna.text
    assert anna.json()["role"] == "księgowa" and anna.json()["preferred_channel"] == "phone"
    _post(api, "/api/contacts", {"name": "Jan Kowalski", "email": "jan@inna.pl"})
    for q in ("anna", "NOWAK", "księg", "600100200", "600 100", "laczka.pl"):
        items = api.client.get("/api/contacts", params={"q": q}, headers=api.h()).json()["items"]
        assert [c["name"] for c in items] == ["Anna Nowak"], q
    assert items[0]["client_name"] == "Piekarnia Łączka"
    everyone = api.client.get("/api/contacts", headers=api.h()).json()
    assert everyone["total"] == 2
    mine = api.client.get(
        "/api/contacts", params={"client_id": client["id"]}, headers=api.h()
    ).json()
    assert [c["name"] for c in mine["items"]] == ["Anna Nowak"]
    r = _post(api, "/api/contacts", {"name": "X", "preferred_channel": "fax"})
    assert r.status_code == 400 and r.json()["field"] == "preferred_channel"


def test_a_ticket_naming_a_client_takes_the_clients_partner(api: Api) -> None:
    partner = _post(api, "/api/partners", {"name": "Partner Kraków"}).json()
    client = _post(api, "/api/clients", {"name": "Klient", "partner_id": partner["id"]}).json()
    lone = _post(api, "/api/clients", {"name": "Bez partnera"}).json()
    ticket = _post(api, "/api/tickets", {"title": "x", "client_id": client["id"]}).json()
    assert ticket["partner_id"] == partner["id"]
    assert ticket["partner_name"] == "Partner Kraków"
    other = _post(api, "/api/tickets", {"title": "y", "client_id": lone["id"]}).json()
    assert other["partner_id"] is None
    moved = api.client.patch(
        f"/api/tickets/{other['id']}", json={"client_id": client["id"]}, headers=api.h()
    ).json()
    assert moved["partner_id"] == partner["id"]
