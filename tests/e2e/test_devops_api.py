"""The DevOps routes through Litestar's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.bootstrap import Container
from api.settings import load_settings
from tests.e2e.conftest import ADMIN, Api
from tests.integration.test_devops_contract import STANDIN_PAT, ServedStandin
from tickets.adapters.azure_devops import WorkItem
from tickets.adapters.db import Database
from tickets.adapters.orm import TicketRow
from tickets.adapters.outbox import OutboxWorker
from tickets.attachments import BlobStore
from tickets.auth import create_user, ensure_bootstrap_admin
from tickets.handoff import link_work_item, register_outbox_handlers

SECRET = "s3cret-hook"


@pytest.fixture(scope="module")
def standin() -> Iterator[ServedStandin]:
    served = ServedStandin()
    served.start()
    yield served
    served.stop()


@pytest.fixture
def dapi(db: Database, tmp_path: Path, standin: ServedStandin) -> Iterator[Api]:
    """The API with Azure DevOps configured (the stand-in)."""
    standin.reset()
    settings = load_settings(
        {
            "SEDNO_DATA_DIR": str(tmp_path / "data"),
            "SEDNO_ADMIN_TOKEN": ADMIN,
            "SEDNO_DATABASE_URL": db.url,
            "SEDNO_DEVOPS_URL": standin.org_url,
            "SEDNO_DEVOPS_PROJECT": "Sedno",
            "SEDNO_DEVOPS_PAT": STANDIN_PAT,
            "SEDNO_DEVOPS_WEBHOOK_SECRET": SECRET,
        }
    )
    tokens = {"admin": ADMIN}
    with db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
        _, tokens["consultant"] = create_user(
            s, login="consultant", name="Konsultant", role="consultant", email="k@example.pl"
        )
        second, _ = create_user(s, login="drugi", name="Druga Linia", role="consultant")
    container = Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "data" / "blobs"))
    container.extras["devops_timeout_s"] = 2.0
    app = create_app(settings, container=container, run_workers=False)
    with TestClient(app) as client:
        api = Api(client=client, container=container, tokens=tokens)
        answer = client.put(
            "/api/devops/modules",
            json={"items": [{"module": "Handel", "area_path": "Sedno\\Handel",
                             "price_list_code": "HA", "second_line_id": second.id}]},
            headers=api.h(),
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        yield api


def _ticket(api: Api, module: str = "Handel", to: str | None = "analysing") -> dict[str, Any]:
    answer = api.client.post(
        "/api/tickets",
        json={"definition": "ZS", "title": "Faktura", "module": module},
        headers=api.h("consultant"),
    )
    assert answer.status_code == 201, answer.text
    ticket: dict[str, Any] = answer.json()
    if to:
        moved = api.client.post(
            f"/api/tickets/{ticket['id']}/transition", json={"to": to}, headers=api.h("consultant")
        )
        assert moved.status_code == 200, moved.text
    return ticket


def _hook(work_item_id: int, rev: int, state: str, old: str = "New") -> dict[str, Any]:
    return {
        "id": f"evt-{work_item_id}-{rev}",
        "eventType": "workitem.updated",
        "resource": {
            "workItemId": work_item_id,
            "rev": rev,
            "fields": {"System.State": {"oldValue": old, "newValue": state}},
            "revision": {"id": work_item_id, "rev": rev, "fields": {"System.State": state}},
        },
    }


def _basic(password: str, user: str = "azure") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _linked_ticket(api: Api, work_item_id: int = 4242) -> dict[str, Any]:
    ticket = _ticket(api)
    assert (
        api.client.post(
            f"/api/tickets/{ticket['id']}/handoff", headers=api.h("consultant")
        ).status_code
        == 202
    )
    item = WorkItem(
        id=work_item_id, rev=1, state="New", title="x", tags=(), area_path="Sedno", html_url=None
    )
    with api.container.db.transaction() as s:
        link_work_item(s, ticket["id"], item)
    return ticket


def _show(api: Api, ticket_id: int) -> dict[str, Any]:
    answer = api.client.get(f"/api/tickets/{ticket_id}", headers=api.h())
    assert answer.status_code == 200
    data: dict[str, Any] = answer.json()
    return data


def test_handoff_answers_202_and_moves_the_ticket(dapi: Api) -> None:
    ticket = _ticket(dapi)
    answer = dapi.client.post(f"/api/tickets/{ticket['id']}/handoff", headers=dapi.h("consultant"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending"
    shown = _show(dapi, ticket["id"])
    assert shown["state"] == "in_progress"
    assert any(h["note"] == "W realizacji — przekazano na produkcję" for h in shown["history"])

    again = dapi.client.post(f"/api/tickets/{ticket['id']}/handoff", headers=dapi.h("consultant"))
    assert (again.status_code, again.json()["type"]) == (409, "already-handed-off")


def test_handoff_refusals_name_the_reason(dapi: Api) -> None:
    reported = _ticket(dapi, to=None)
    answer = dapi.client.post(f"/api/tickets/{reported['id']}/handoff", headers=dapi.h())
    assert (answer.status_code, answer.json()["type"]) == (409, "invalid-transition")

    unknown = _ticket(dapi, module="Nieznany moduł")
    answer = dapi.client.post(f"/api/tickets/{unknown['id']}/handoff", headers=dapi.h())
    assert (answer.status_code, answer.json()["field"]) == (422, "module")

    assert dapi.client.post("/api/tickets/999999/handoff", headers=dapi.h()).status_code == 404
    assert dapi.client.post(f"/api/tickets/{unknown['id']}/handoff").status_code == 401


def test_handoff_disabled_without_devops_settings(api: Api) -> None:
    answer = api.client.post("/api/tickets", json={"title": "x"}, headers=api.h())
    ticket_id = answer.json()["id"]
    answer = api.client.post(f"/api/tickets/{ticket_id}/handoff", headers=api.h())
    assert answer.status_code == 409
    assert answer.json()["type"] == "handoff-disabled"
    assert "handoff disabled" in answer.json()["detail"]


def test_webhook_needs_the_secret_and_changes_nothing_without_it(dapi: Api) -> None:
    ticket = _linked_ticket(dapi)
    body = _hook(4242, 2, "Resolved")
    for headers in (
        {},
        _basic("wrong"),
        {"X-Sedno-Secret": "wrong"},
        {"Authorization": f"Bearer {ADMIN}"},  # a user token is not the hook secret
    ):
        answer = dapi.client.post("/api/devops/webhook", json=body, headers=headers)
        assert answer.status_code == 401, headers
    history = _show(dapi, ticket["id"])["history"]
    assert [h for h in history if h["action"] in ("devops_state", "devops_feedback")] == []
    with dapi.container.db.read() as s:
        row = s.get(TicketRow, ticket["id"])
        assert row is not None and (row.devops_rev, row.devops_state) == (1, "New")


def test_webhook_applies_newer_revisions_only(dapi: Api) -> None:
    ticket = _linked_ticket(dapi)
    first = dapi.client.post("/api/devops/webhook", json=_hook(4242, 3, "Resolved"),
                             headers=_basic(SECRET))  # fmt: skip
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "applied"
    duplicate = dapi.client.post("/api/devops/webhook", json=_hook(4242, 3, "Resolved"),
                                 headers={"X-Sedno-Secret": SECRET})  # fmt: skip
    older = dapi.client.post("/api/devops/webhook", json=_hook(4242, 2, "Active"),
                             headers=_basic(SECRET, user=""))  # fmt: skip
    assert [duplicate.json()["outcome"], older.json()["outcome"]] == ["stale", "stale"]
    foreign = dapi.client.post("/api/devops/webhook", json=_hook(77, 5, "Done"),
                               headers=_basic(SECRET))  # fmt: skip
    assert (foreign.status_code, foreign.json()["outcome"]) == (200, "unknown")

    history = _show(dapi, ticket["id"])["history"]
    assert [h["note"] for h in history if h["action"] == "devops_feedback"] == [
        "Produkcja zakończyła"
    ]
    assert [h["new_value"] for h in history if h["action"] == "devops_state"] == ["Resolved"]


def test_malformed_webhook_payload_is_400_naming_the_field(dapi: Api) -> None:
    body = _hook(4242, 2, "Resolved")
    del body["resource"]["rev"]
    answer = dapi.client.post("/api/devops/webhook", json=body, headers=_basic(SECRET))
    assert answer.status_code == 400
    assert answer.json()["field"] == "resource.rev"
    answer = dapi.client.post("/api/devops/webhook", content=b"{not json", headers=_basic(SECRET))
    assert (answer.status_code, answer.json()["field"]) == (400, "body")


def test_admin_edits_modules_and_mapping(dapi: Api) -> None:
    modules = dapi.client.get("/api/devops/modules", headers=dapi.h()).json()["items"]
    assert [(m["module"], m["area_path"], m["price_list_code"]) for m in modules] == [
        ("Handel", "Sedno\\Handel", "HA")
    ]
    assert dapi.client.get("/api/devops/modules", headers=dapi.h("consultant")).status_code == 403
    bad_user = {"items": [{"module": "Kadry", "area_path": "Sedno\\Kadry", "second_line_id": 999}]}
    answer = dapi.client.put("/api/devops/modules", json=bad_user, headers=dapi.h())
    assert (answer.status_code, answer.json()["field"]) == (422, "second_line_id")

    mapping = dapi.client.get("/api/devops/mapping", headers=dapi.h()).json()
    assert {"work_item_state": "Resolved", "action": "return", "note": "Produkcja zakończyła"} in (
        mapping["inbound"]
    )
    mapping["inbound"] = [{"work_item_state": "Resolved", "action": "note", "note": "Gotowe"}]
    answer = dapi.client.put("/api/devops/mapping", json=mapping, headers=dapi.h())
    assert answer.status_code == 200, answer.text
    assert dapi.client.get("/api/devops/mapping", headers=dapi.h()).json() == mapping
    mapping["outbound"][0]["tag"] = "a;b"
    answer = dapi.client.put("/api/devops/mapping", json=mapping, headers=dapi.h())
    assert answer.status_code == 400
    twice = {**mapping, "outbound": [], "inbound": mapping["inbound"] * 2}
    answer = dapi.client.put("/api/devops/mapping", json=twice, headers=dapi.h())
    assert (answer.status_code, answer.json()["field"]) == (422, "inbound")

    ticket = _linked_ticket(dapi)
    dapi.client.post("/api/devops/webhook", json=_hook(4242, 2, "Resolved"), headers=_basic(SECRET))
    notes = [
        h["note"] for h in _show(dapi, ticket["id"])["history"] if h["action"] == "devops_feedback"
    ]
    assert notes == ["Gotowe"]


def test_reconcile_route_reads_open_handoffs(dapi: Api, standin: ServedStandin) -> None:
    ticket = _ticket(dapi)
    assert (
        dapi.client.post(f"/api/tickets/{ticket['id']}/handoff", headers=dapi.h()).status_code
        == 202
    )

    single: dict[str, Any] = {}
    register_outbox_handlers(dapi.container, single, {})
    OutboxWorker(dapi.container.db, {"devops.create": single["devops.create"]}).drain()
    [item] = standin.items()
    standin.admin.post(f"/_standin/workitems/{item['id']}/state", json={"state": "Done"})

    assert (
        dapi.client.post("/api/devops/reconcile", headers=dapi.h("consultant")).status_code == 403
    )
    answer = dapi.client.post("/api/devops/reconcile", headers=dapi.h())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"checked": 1, "applied": 1, "errors": []}
    shown = _show(dapi, ticket["id"])
    assert [h["note"] for h in shown["history"] if h["action"] == "devops_feedback"] == [
        "Produkcja zakończyła"
    ]
