"""The consultant's working day through HTTP: every field, lists, the client card, replies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from tests.e2e.conftest import Api
from tickets.core.orm import TicketRow
from tickets.core.outbox import OutboxJobRow


def _modules(api: Api, *names: str) -> None:
    items = [{"module": n, "area_path": f"Sedno\\{n}"} for n in names]
    r = api.client.put("/api/devops/modules", json={"items": items}, headers=api.h())
    assert r.status_code == 200, r.text


def _client(api: Api, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "Piekarnia Łączka",
        "tax_id": "521-301-72-28",
        "phone": "+48 22 555 01 02",
        "email": "biuro@laczka.pl",
        "licences": [{"number": "EN-100203", "product": "enova365", "modules": ["Handel"]}],
        **extra,
    }
    r = api.client.post("/api/clients", json=body, headers=api.h())
    assert r.status_code == 201, r.text
    return dict(r.json())


def _ticket(api: Api, role: str = "consultant", **fields: Any) -> dict[str, Any]:
    r = api.client.post(
        "/api/tickets", json={"definition": "ZS", "title": "Faktura", **fields}, headers=api.h(role)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_every_field_of_the_process_is_set_at_create_and_patch(api: Api) -> None:
    _modules(api, "Handel", "Kadry Płace")
    t = _ticket(
        api,
        product="enova365",
        module="handel",
        version="2604.1",
        type="bug",
        area="Faktury",
        interface="okienkowy",
        priority="wysoki",
        contact_name="Anna Nowak",
        contact_phone="601 234 567",
        notes="Oddzwonić po 14",
        keywords=["KSeF"],
        kb_links=["https://pomoc.enova.pl/ksef"],
    )
    assert t["module"] == "Handel"  # the dictionary's spelling
    assert (t["contact_name"], t["contact_phone"]) == ("Anna Nowak", "601 234 567")
    assert (t["area"], t["interface"], t["notes"]) == ("Faktury", "okienkowy", "Oddzwonić po 14")
    r = api.client.patch(
        f"/api/tickets/{t['id']}",
        json={"module": "Kadry Płace", "contact_phone": "+48 601 000 111", "version": "2605.0"},
        headers=api.h("consultant"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["module"], r.json()["contact_phone"]) == ("Kadry Płace", "+48 601 000 111")


def test_an_unknown_module_is_refused_naming_the_field(api: Api) -> None:
    _modules(api, "Handel")
    r = api.client.post(
        "/api/tickets", json={"title": "x", "module": "Magazyn"}, headers=api.h("consultant")
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "module"
    t = _ticket(api, module="Handel")
    r = api.client.patch(
        f"/api/tickets/{t['id']}", json={"module": "Magazyn"}, headers=api.h("consultant")
    )
    assert r.status_code == 422 and r.json()["field"] == "module"
    r = api.client.post(
        "/api/phone-events", json={"title": "x", "module": "Magazyn"}, headers=api.h("consultant")
    )
    assert r.status_code == 422 and r.json()["field"] == "module"


def test_keywords_come_from_the_dictionary_in_its_preferred_form(api: Api) -> None:
    cur = api.h("curator")
    older = _ticket(api, keywords=["stara fraza"])  # before the desk kept a dictionary
    body = {"name": "KSeF", "synonyms": ["Krajowy System e-Faktur"]}
    assert api.client.post("/api/keywords", json=body, headers=cur).status_code == 201
    assert api.client.post("/api/keywords", json={"name": "wydruk"}, headers=cur).status_code == 201
    # A synonym, in any case, is stored as the keyword's preferred form.
    t = _ticket(api, keywords=["krajowy system e-faktur", "WYDRUK"])
    assert t["keywords"] == ["KSeF", "wydruk"]
    r = api.client.post(
        "/api/tickets", json={"title": "x", "keywords": ["KSeF", "stopka"]}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "keywords"
    assert "stopka" in r.json()["detail"]
    r = api.client.patch(
        f"/api/tickets/{t['id']}", json={"keywords": ["zupełnie nowe"]}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "keywords"
    assert api.client.get(f"/api/tickets/{t['id']}", headers=api.h()).json()["keywords"] == [
        "KSeF", "wydruk",
    ]  # fmt: skip
    # A word the ticket carries already stays; a new one must come from the dictionary.
    r = api.client.patch(
        f"/api/tickets/{older['id']}", json={"keywords": ["stara fraza", "ksef"]}, headers=api.h()
    )
    assert r.status_code == 200 and r.json()["keywords"] == ["stara fraza", "KSeF"], r.text
    r = api.client.post(
        "/api/phone-events", json={"title": "x", "keywords": ["stopka"]}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "keywords"
    r = api.client.post(
        "/api/tickets", json={"definition": "ZT", "title": "x", "keywords": ["stopka"]},
        headers=api.h(),
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "keywords"


def test_the_time_before_registering_a_call_counts(api: Api) -> None:
    picked_up = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3)
    r = api.client.post(
        "/api/phone-events",
        json={"title": "Nie drukuje", "call_started_at": picked_up.isoformat()},
        headers=api.h("consultant"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["time_total_s"] >= 180
    (entry,) = r.json()["time_entries"]
    assert dt.datetime.fromisoformat(entry["started_at"]) <= picked_up + dt.timedelta(seconds=1)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    r = api.client.post(
        "/api/phone-events",
        json={"title": "Zegar klienta", "call_started_at": future.isoformat()},
        headers=api.h("consultant"),
    )
    assert r.json()["time_total_s"] < 60  # a start in the future is taken as now


def test_a_task_from_a_call_keeps_the_closing_note_and_the_caller(api: Api) -> None:
    event = api.client.post(
        "/api/phone-events",
        json={"title": "Błąd wydruku", "contact_name": "Jan Kowal", "contact_phone": "601"},
        headers=api.h("consultant"),
    ).json()
    r = api.client.post(
        f"/api/tickets/{event['id']}/close-event",
        json={"create_task": True, "solution": "Sprawdzić sterownik drukarki u klienta"},
        headers=api.h("consultant"),
    )
    task = r.json()["task"]
    assert "Sprawdzić sterownik drukarki u klienta" in task["notes"]
    assert (task["contact_name"], task["contact_phone"]) == ("Jan Kowal", "601")


def test_lists_mine_open_filters_and_overdue_first(api: Api) -> None:
    _modules(api, "Handel", "Kadry")
    client = _client(api)
    old = _ticket(api, title="Stare", priority="normalny", module="Handel", client_id=client["id"])
    new = _ticket(api, title="Nowe", priority="krytyczny", module="Kadry")
    admins = _ticket(api, role="admin", title="Cudze", priority="wysoki")
    done = _ticket(api, title="Zamknięte")
    api.client.post(
        f"/api/tickets/{done['id']}/transition", json={"to": "cancelled"}, headers=api.h()
    )
    with api.container.db.transaction() as s:
        s.execute(
            update(TicketRow)
            .where(TicketRow.id == old["id"])
            .values(reported_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=5))
        )

    def numbers(**params: Any) -> list[int]:
        r = api.client.get("/api/tickets", params=params, headers=api.h("consultant"))
        assert r.status_code == 200, r.text
        return [t["id"] for t in r.json()["items"]]

    assert numbers(mine="true", open="true") == [new["id"], old["id"]]
    assert numbers(mine="true", open="true", overdue_first="true") == [old["id"], new["id"]]
    assert numbers(open="true", sort="priority") == [new["id"], admins["id"], old["id"]]
    assert numbers(module="kadry") == [new["id"]]
    assert numbers(priority="wysoki") == [admins["id"]]
    assert numbers(client_id=client["id"]) == [old["id"]]
    assert done["id"] in numbers(state="cancelled")
    items = api.client.get(
        "/api/tickets", params={"open": "true", "overdue_first": "true"}, headers=api.h()
    ).json()["items"]
    assert items[0]["overdue"] is True and items[0]["state_label"] == "Zgłoszony"
    r = api.client.get("/api/tickets", params={"sort": "sideways"}, headers=api.h())
    assert r.status_code == 400 and "sort" in r.text
    r = api.client.get("/api/tickets", params={"priority": "pilne"}, headers=api.h())
    assert r.status_code == 400 and "priority" in r.text


def test_the_client_picker_finds_licence_digits_phone_and_nip(api: Api) -> None:
    client = _client(api)
    other = _client(api, name="Hurtownia Zenit", tax_id=None, phone=None, email=None, licences=[])
    api.client.post(
        "/api/contacts",
        json={"name": "Ewa Kadrowa", "phone": "601-234-567", "client_id": other["id"]},
        headers=api.h(),
    )
    for typed, wanted in [
        ("100203", client["id"]),
        ("EN-1002", client["id"]),
        ("5213017228", client["id"]),
        ("521-301", client["id"]),
        ("22 555 01 02", client["id"]),
        ("+48601234567", other["id"]),
        ("601 234 567", other["id"]),
        ("łączka", client["id"]),
    ]:
        found = api.client.get("/api/clients", params={"q": typed}, headers=api.h()).json()
        assert [c["id"] for c in found["items"]] == [wanted], typed


def test_the_client_card_puts_warnings_first(api: Api) -> None:
    from intake.orm import AddressStatusRow

    client = _client(api, do_not_contact=True, sales_note="Zaległe faktury", notes="VIP")
    r = api.client.post(
        "/api/contacts",
        json={
            "name": "Anna Nowak",
            "role": "księgowa",
            "email": "anna@laczka.pl",
            "phone": "601 234 567",
            "client_id": client["id"],
        },
        headers=api.h(),
    )
    assert r.status_code == 201, r.text
    with api.container.db.transaction() as s:
        s.add(AddressStatusRow(address="anna@laczka.pl", bounces=3, last_bounce_reason="550"))
    open_t = _ticket(api, title="Otwarte", client_id=client["id"])
    closed = _ticket(api, title="Anulowane", client_id=client["id"])
    api.client.post(
        f"/api/tickets/{closed['id']}/transition", json={"to": "cancelled"}, headers=api.h()
    )
    api.client.post(f"/api/tickets/{open_t['id']}/time", json={"minutes": 25}, headers=api.h())
    card = api.client.get(f"/api/clients/{client['id']}/card", headers=api.h("consultant"))
    assert card.status_code == 200, card.text
    body = card.json()
    assert body["warnings"][0] == "Zakaz kontaktu"
    assert any("odbija" in w for w in body["warnings"])
    (contact,) = body["contacts"]
    assert (contact["role"], contact["phone"]) == ("księgowa", "601 234 567")
    assert contact["warnings"] and "odbija" in contact["warnings"][0]
    assert [lic["number"] for lic in body["client"]["licences"]] == ["EN-100203"]
    assert [t["id"] for t in body["open_tickets"]] == [open_t["id"]]
    assert [t["id"] for t in body["recent_tickets"]] == [closed["id"]]
    assert body["time_this_month_s"] == 25 * 60
    assert body["notes"] == "VIP" and body["tax_id"] == "5213017228"
    assert api.client.get("/api/clients/99999/card", headers=api.h()).status_code == 404


def test_internal_note_is_on_the_timeline_and_never_mailed(api: Api) -> None:
    t = _ticket(api, contact_email="jan@klient.pl")
    r = api.client.post(
        f"/api/tickets/{t['id']}/notes", json={"text": "Klient nerwowy"}, headers=api.h()
    )
    assert r.status_code == 201, r.text
    assert any(h["action"] == "internal_note" and h["note"] == "Klient nerwowy"
               for h in r.json()["history"])  # fmt: skip
    with api.container.db.read() as s:
        kinds = list(s.scalars(select(OutboxJobRow.kind)))
    assert "mail.send" not in kinds
    r = api.client.post(f"/api/tickets/{t['id']}/notes", json={"text": ""}, headers=api.h())
    assert r.status_code == 400 and r.json()["field"] == "text"


def test_a_reply_to_a_do_not_contact_client_is_refused_with_a_history_line(api: Api) -> None:
    client = _client(api, do_not_contact=True)
    t = _ticket(api, client_id=client["id"], contact_email="biuro@laczka.pl")
    r = api.client.post(
        f"/api/tickets/{t['id']}/reply", json={"text": "Dzień dobry"}, headers=api.h()
    )
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("do-not-contact")
    assert "Nie wysłano odpowiedzi" in r.json()["detail"]
    view = api.client.get(f"/api/tickets/{t['id']}", headers=api.h()).json()
    assert [h["action"] for h in view["history"]][-1] == "reply_blocked"
    assert not [m for m in view["messages"] if m["direction"] == "out"]
    r = api.client.post(f"/api/tickets/{t['id']}/reply", json={"text": "x", "to": "a@b.pl, c@d.pl"},
                        headers=api.h())  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "to"
    bare = _ticket(api)
    r = api.client.post(f"/api/tickets/{bare['id']}/reply", json={"text": "x"}, headers=api.h())
    assert r.status_code == 422 and r.json()["field"] == "to"


def test_upload_keeps_the_api_limit(api: Api) -> None:
    t = _ticket(api)
    limit = api.container.settings.attachment_max_bytes
    r = api.client.post(
        f"/api/tickets/{t['id']}/attachments",
        files={"data": ("zrzut.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png")},
        headers=api.h(),
    )
    assert r.status_code == 201, r.text
    assert [a["filename"] for a in r.json()["attachments"]] == ["zrzut.png"]
    r = api.client.post(
        f"/api/tickets/{t['id']}/attachments",
        files={"data": ("duzy.bin", b"0" * (limit + 1), "application/octet-stream")},
        headers=api.h(),
    )
    assert r.status_code == 422 and r.json()["field"] == "file"
