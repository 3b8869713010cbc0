"""Notification rules, in-app notices and consulting the second line, through the HTTP API on
SQLite and PostgreSQL; the outbox jobs are what the workers would send."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.e2e.conftest import Api
from tickets.accounts.auth import create_user
from tickets.core.orm import UserRow
from tickets.core.outbox import OutboxJobRow
from tickets.handoff.orm import DevOpsModuleRow


def _user_id(api: Api, login: str) -> int:
    with api.container.db.read() as s:
        user = s.scalar(select(UserRow).where(UserRow.login == login))
        assert user is not None
        return user.id


def _jobs(api: Api, kind: str) -> list[dict[str, Any]]:
    with api.container.db.read() as s:
        rows = s.scalars(select(OutboxJobRow).where(OutboxJobRow.kind == kind))
        return [dict(r.payload) for r in rows]


def _notices(api: Api, role: str, **params: Any) -> dict[str, Any]:
    answer = api.client.get("/api/notifications", params=params, headers=api.h(role))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_default_matrix_keeps_the_definitions_contact_states(api: Api) -> None:
    matrix = api.client.get("/api/notifications/rules", headers=api.h("consultant")).json()
    contact = {(r["definition"], r["state"]) for r in matrix["rules"]
               if r["recipient"] == "contact"}  # fmt: skip
    # ZS mailed its contact on in_progress, completed, cancelled before the matrix existed.
    assert {("ZS", "in_progress"), ("ZS", "completed"), ("ZS", "cancelled")} <= contact
    assert {"event": "assigned", "recipient": "lead", "channel": "notice", "state": "",
            "definition": "", "group": ""} in matrix["rules"]  # fmt: skip
    assert matrix["events"][0] == "created" and "handoff_returned" in matrix["events"]


def test_only_an_admin_edits_the_matrix_and_bad_cells_name_their_field(api: Api) -> None:
    rule = {"event": "created", "recipient": "lead", "channel": "notice"}
    refused = api.client.put(
        "/api/notifications/rules", json={"rules": [rule]}, headers=api.h("consultant")
    )
    assert refused.status_code == 403
    bad = {"event": "reply", "recipient": "contact", "channel": "notice"}
    answer = api.client.put("/api/notifications/rules", json={"rules": [rule, bad]},
                            headers=api.h())  # fmt: skip
    assert (answer.status_code, answer.json()["field"]) == (422, "rules[1].recipient")
    answer = api.client.put(
        "/api/notifications/rules",
        json={"rules": [{"event": "state", "state": "nope", "recipient": "lead",
                         "channel": "email"}]},
        headers=api.h(),
    )  # fmt: skip
    assert (answer.status_code, answer.json()["field"]) == (422, "rules[0].state")
    answer = api.client.put("/api/notifications/rules", json={"rules": [{"event": "x"}]},
                            headers=api.h())  # fmt: skip
    assert answer.status_code == 400
    saved = api.client.put("/api/notifications/rules", json={"rules": [rule, rule]},
                           headers=api.h())  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert len(saved.json()["rules"]) == 1


def test_assignment_gives_a_notice_and_a_mail_until_the_matrix_says_otherwise(api: Api) -> None:
    consultant = _user_id(api, "consultant")
    created = api.client.post(
        "/api/tickets",
        json={"title": "Nie działa eksport JPK", "lead_consultant_id": consultant},
        headers=api.h(),
    )
    assert created.status_code == 201
    inbox = _notices(api, "consultant")
    assert inbox["unread"] == 1
    (notice,) = inbox["items"]
    assert notice["event"] == "assigned"
    assert notice["ticket_number"] == created.json()["number"]
    assert [j["reason"] for j in _jobs(api, "mail.notify_user")] == ["assigned"]
    # The one who assigns is not told of their own act.
    assert _notices(api, "admin")["unread"] == 0

    assert api.client.post(f"/api/notifications/{notice['id']}/read",
                           headers=api.h("consultant")).json() == {"unread": 0}  # fmt: skip
    assert api.client.post(f"/api/notifications/{notice['id']}/read",
                           headers=api.h("curator")).status_code == 404  # fmt: skip

    api.client.put("/api/notifications/rules", json={"rules": []}, headers=api.h())
    api.client.post("/api/tickets", json={"title": "Drugie", "lead_consultant_id": consultant},
                    headers=api.h())  # fmt: skip
    assert _notices(api, "consultant", unread=True)["items"] == []
    assert len(_jobs(api, "mail.notify_user")) == 1


def test_the_contact_state_mail_follows_the_matrix(api: Api) -> None:
    h = api.h("consultant")
    ticket = api.client.post(
        "/api/tickets", json={"title": "Faktura", "contact_email": "jan@klient.pl"}, headers=h
    ).json()
    api.client.post(f"/api/tickets/{ticket['id']}/transition", json={"to": "analysing"}, headers=h)
    api.client.post(f"/api/tickets/{ticket['id']}/transition", json={"to": "in_progress"},
                    headers=h)  # fmt: skip
    assert [j["state"] for j in _jobs(api, "mail.notify_state")] == ["in_progress"]

    rules = [{"event": "state", "state": "cancelled", "definition": "ZS", "recipient": "contact",
              "channel": "email"},
             {"event": "state", "recipient": "watchers", "channel": "notice"}]  # fmt: skip
    assert api.client.put("/api/notifications/rules", json={"rules": rules},
                          headers=api.h()).status_code == 200  # fmt: skip
    api.client.post(f"/api/tickets/{ticket['id']}/time", json={"minutes": 5},
                    headers=api.h("curator"))  # fmt: skip
    api.client.post(f"/api/tickets/{ticket['id']}/transition", json={"to": "cancelled"},
                    headers=h)  # fmt: skip
    assert [j["state"] for j in _jobs(api, "mail.notify_state")] == ["in_progress", "cancelled"]
    # The curator logged time on it, so watches it; the consultant moved it, so is not told.
    assert [n["event"] for n in _notices(api, "curator")["items"]] == ["state"]
    assert _notices(api, "consultant")["items"] == []


def test_consulting_the_second_line_and_the_answer_in_the_ticket(api: Api) -> None:
    with api.container.db.transaction() as s:
        second, token = create_user(s, login="produkcja", name="Piotr Produkcja",
                                    role="consultant", email="piotr@sedno.pl")  # fmt: skip
        s.add(DevOpsModuleRow(module="Kadry Płace", area_path="Sedno\\Kadry",
                              second_line_id=second.id))  # fmt: skip
        second_id = second.id
    api.tokens["second"] = token
    h = api.h("consultant")
    ticket = api.client.post("/api/tickets", json={"title": "Lista płac", "module": "Kadry Płace"},
                             headers=h).json()  # fmt: skip
    no_module = api.client.post("/api/tickets", json={"title": "Bez modułu"}, headers=h).json()

    answer = api.client.post(f"/api/tickets/{no_module['id']}/consult",
                             json={"question": "?"}, headers=h)  # fmt: skip
    assert (answer.status_code, answer.json()["field"]) == (422, "module")
    answer = api.client.post(f"/api/tickets/{ticket['id']}/consult", json={"question": ""},
                             headers=h)  # fmt: skip
    assert (answer.status_code, answer.json()["field"]) == (400, "question")

    asked = api.client.post(f"/api/tickets/{ticket['id']}/consult",
                            json={"question": "Czy składka ZUS liczy się od brutto?"},
                            headers=h)  # fmt: skip
    assert asked.status_code == 200, asked.text
    view = asked.json()
    assert (view["second_line_id"], view["second_line_name"]) == (second_id, "Piotr Produkcja")
    assert view["messages"][-1]["body_text"] == "Czy składka ZUS liczy się od brutto?"
    assert view["state"] == "reported"  # asked during analysis: nothing is handed off
    (notice,) = _notices(api, "second")["items"]
    assert notice["event"] == "consultation"
    assert notice["body"] == "Czy składka ZUS liczy się od brutto?"
    (mail,) = [j for j in _jobs(api, "mail.notify_user") if j["reason"] == "consultation"]
    assert mail["user_id"] == second_id

    mine = api.client.get("/api/tickets", params={"second_line": "me"}, headers=api.h("second"))
    assert [t["id"] for t in mine.json()["items"]] == [ticket["id"]]
    assert api.client.get("/api/tickets", params={"second_line": "me"},
                          headers=h).json()["items"] == []  # fmt: skip
    assert api.client.get("/api/tickets", params={"second_line": "you"},
                          headers=h).status_code == 400  # fmt: skip

    refused = api.client.post(f"/api/tickets/{ticket['id']}/consult/answer",
                              json={"answer": "Tak"}, headers=api.h("curator"))  # fmt: skip
    assert refused.status_code == 403
    answered = api.client.post(f"/api/tickets/{ticket['id']}/consult/answer",
                               json={"answer": "Tak, od brutto."},
                               headers=api.h("second"))  # fmt: skip
    assert answered.status_code == 200
    last = answered.json()["messages"][-1]
    assert (last["sender"], last["body_text"]) == ("Piotr Produkcja", "Tak, od brutto.")
    assert [n["body"] for n in _notices(api, "consultant")["items"]] == ["Tak, od brutto."]
