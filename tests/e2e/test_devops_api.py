"""The DevOps routes through Litestar's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.container import Container
from tests.e2e.conftest import ADMIN, Api
from tests.integration.test_devops_contract import STANDIN_PAT, ServedStandin
from tests.services.apps import serving
from tickets.accounts.auth import create_user, ensure_bootstrap_admin
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketRow
from tickets.core.outbox import OutboxWorker
from tickets.core.settings import load_settings
from tickets.handoff.azure_devops import WorkItem, forget_retry_after
from tickets.handoff.service import link_work_item, register_outbox_handlers

SECRET = "s3cret-hook"


@pytest.fixture(scope="module")
def standin() -> Iterator[ServedStandin]:
    served = ServedStandin()
    served.start()
    yield served
    served.stop()


@pytest.fixture
def dapi(
    db: Database,
    tmp_path: Path,
    standin: ServedStandin,
    api_client: TestClient,  # type: ignore[type-arg]
) -> Iterator[Api]:
    """The API with Azure DevOps configured (the stand-in)."""
    standin.reset()
    forget_retry_after()
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
    container.devops_timeout_s = 2.0
    with serving(api_client, container) as client:
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

    # A module outside the dictionary is refused when the ticket is written (issue 17), so
    # the handoff meets only a ticket without a module.
    answer = dapi.client.post(
        "/api/tickets",
        json={"title": "Faktura", "module": "Nieznany moduł"},
        headers=dapi.h("consultant"),
    )
    assert (answer.status_code, answer.json()["field"]) == (422, "module")
    unknown = _ticket(dapi, module="")
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
    assert {
        "work_item_state": None,
        "work_item_category": "Resolved",
        "action": "return",
        "note": "Produkcja zakończyła",
    } in mapping["inbound"]
    mapping["inbound"] = [
        {"work_item_state": "Resolved", "work_item_category": None, "action": "note",
         "note": "Gotowe"}
    ]  # fmt: skip
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
    standin.admin.post(f"/_standin/workitems/{item['id']}/state", json={"state": "Closed"})

    assert (
        dapi.client.post("/api/devops/reconcile", headers=dapi.h("consultant")).status_code == 403
    )
    answer = dapi.client.post("/api/devops/reconcile", headers=dapi.h())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"checked": 1, "applied": 1, "errors": [], "retry_after": None}
    shown = _show(dapi, ticket["id"])
    assert [h["note"] for h in shown["history"] if h["action"] == "devops_feedback"] == [
        "Produkcja zakończyła"
    ]


# ------------------------------------------------------------------ issue 16: vendor rules


def _handed_off(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ticket handed off and its work item created by the outbox job; the job handlers."""
    ticket = _ticket(api)
    api.client.post(f"/api/tickets/{ticket['id']}/handoff", headers=api.h())
    single: dict[str, Any] = {}
    register_outbox_handlers(api.container, single, {})
    OutboxWorker(api.container.db, {"devops.create": single["devops.create"]}).drain()
    return ticket, single


def test_the_test_buttons_sample_changes_no_ticket(dapi: Api, standin: ServedStandin) -> None:
    ticket = _linked_ticket(dapi, work_item_id=5)  # the sample's work item
    sample = standin.admin.post("/_standin/hooks/test")  # no hook URL: build the body only
    sample.raise_for_status()
    body = _sample_body(standin)
    answer = dapi.client.post("/api/devops/webhook", json=body, headers=_basic(SECRET))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "test")
    with dapi.container.db.read() as s:
        row = s.get(TicketRow, ticket["id"])
        assert row is not None and (row.devops_rev, row.devops_state) == (1, "New")


def _sample_body(standin: ServedStandin) -> dict[str, Any]:
    from tests.integration.test_devops_contract import HookReceiver

    receiver = HookReceiver(SECRET)
    try:
        standin.admin.post(
            "/_standin/config", json={"hook_url": receiver.url, "hook_secret": SECRET}
        ).raise_for_status()
        standin.admin.post("/_standin/hooks/test").raise_for_status()
        [body] = receiver.wait_for(1)
    finally:
        standin.admin.post("/_standin/config", json={"hook_url": ""})
        receiver.close()
    return body


def test_the_state_is_the_changed_fields_new_value(dapi: Api) -> None:
    ticket = _linked_ticket(dapi)
    body = _hook(4242, 2, "Resolved")
    body["resource"]["revision"]["fields"]["System.State"] = "New"  # as Microsoft's sample
    answer = dapi.client.post("/api/devops/webhook", json=body, headers=_basic(SECRET))
    assert answer.json()["outcome"] == "applied"
    assert _show(dapi, ticket["id"])["devops_state"] == "Resolved"


def test_a_minimal_hook_queues_a_read_of_the_work_item(dapi: Api, standin: ServedStandin) -> None:
    ticket, single = _handed_off(dapi)
    [item] = standin.items()
    standin.admin.post(f"/_standin/workitems/{item['id']}/state", json={"state": "Resolved"})
    minimal = {"eventType": "workitem.updated", "id": "evt-min",
               "resource": {"id": 2, "workItemId": item["id"], "rev": 2, "url": "x"}}  # fmt: skip
    answer = dapi.client.post("/api/devops/webhook", json=minimal, headers=_basic(SECRET))
    assert (answer.status_code, answer.json()["outcome"]) == (200, "queued")
    assert _show(dapi, ticket["id"])["devops_state"] == "New", "nothing guessed"
    OutboxWorker(dapi.container.db, {"devops.refresh": single["devops.refresh"]}).drain()
    shown = _show(dapi, ticket["id"])
    assert shown["devops_state"] == "Resolved"
    assert [h["note"] for h in shown["history"] if h["action"] == "devops_feedback"] == [
        "Produkcja zakończyła"
    ]


def test_a_transient_database_failure_answers_503(dapi: Api) -> None:
    from tests.integration.test_devops_contract import _free_port

    dead = Database(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/sedno")
    live = dapi.container.db
    dapi.container.db = dead
    try:
        answer = dapi.client.post(
            "/api/devops/webhook", json=_hook(4242, 2, "Resolved"), headers=_basic(SECRET)
        )
    finally:
        dapi.container.db = live
        dead.dispose()
    assert answer.status_code == 503, answer.text  # Azure DevOps retries 503, not 500
    assert answer.headers["Retry-After"]


def test_saving_settings_checks_them_against_the_project(dapi: Api) -> None:
    missing_area = {"items": [{"module": "Handel", "area_path": "Sedno\\Nie ma"}]}
    answer = dapi.client.put("/api/devops/modules", json=missing_area, headers=dapi.h())
    assert answer.status_code == 422
    assert answer.json()["field"] == "items[0].area_path"
    assert "Sedno\\Nie ma" in answer.json()["detail"]

    with dapi.container.db.transaction() as s:
        stranger, _ = create_user(s, login="obcy", name="Obcy", role="consultant",
                                  email="obcy@nieznany.pl")  # fmt: skip
    unknown_person = {"items": [{"module": "Handel", "area_path": "sedno\\handel",
                                 "second_line_id": stranger.id}]}  # fmt: skip
    answer = dapi.client.put("/api/devops/modules", json=unknown_person, headers=dapi.h())
    assert (answer.status_code, answer.json()["field"]) == (422, "items[0].second_line_id")
    spelled = {"items": [{"module": "Handel", "area_path": "sedno\\handel"}]}
    answer = dapi.client.put("/api/devops/modules", json=spelled, headers=dapi.h())
    assert answer.json()["items"][0]["area_path"] == "Sedno\\Handel", "as the project spells it"

    mapping = dapi.client.get("/api/devops/mapping", headers=dapi.h()).json()
    mapping["outbound"][0] = {**mapping["outbound"][0], "work_item_state": "Done",
                              "work_item_category": None}  # fmt: skip
    answer = dapi.client.put("/api/devops/mapping", json=mapping, headers=dapi.h())
    assert (answer.status_code, answer.json()["field"]) == (422, "outbound[0].work_item_state")
    assert "'Done' is not a state of Bug" in answer.json()["detail"]
    answer = dapi.client.put(
        "/api/devops/mapping", json={**mapping, "work_item_type": "Epik"}, headers=dapi.h()
    )
    assert answer.status_code == 502 or answer.json()["field"] == "work_item_type"

    project = dapi.client.get("/api/devops/project", headers=dapi.h()).json()
    assert project["process"] == "Agile" and project["work_item_type"] == "Bug"
    assert "Sedno\\Handel" in project["areas"]


def test_saving_settings_while_devops_is_down_is_503_and_saves_nothing(
    dapi: Api, standin: ServedStandin
) -> None:
    standin.fault(mode="down", count=None)
    try:
        body = {"items": [{"module": "Magazyn", "area_path": "Sedno\\Magazyn"}]}
        answer = dapi.client.put("/api/devops/modules", json=body, headers=dapi.h())
    finally:
        standin.admin.delete("/_standin/faults")
    assert (answer.status_code, answer.json()["type"]) == (503, "devops-unavailable")
    modules = dapi.client.get("/api/devops/modules", headers=dapi.h()).json()["items"]
    assert [m["module"] for m in modules] == ["Handel"]


def test_a_scrum_project_gets_bugs_and_its_own_states(dapi: Api, standin: ServedStandin) -> None:
    standin.admin.post("/_standin/reset", json={"process": "Scrum"}).raise_for_status()
    assert dapi.client.get("/api/devops/project", headers=dapi.h()).json()["process"] == "Scrum"
    ticket = _ticket(dapi)
    dapi.client.post(f"/api/tickets/{ticket['id']}/handoff", headers=dapi.h())
    single: dict[str, Any] = {}
    register_outbox_handlers(dapi.container, single, {})
    worker = OutboxWorker(dapi.container.db, {k: single[k] for k in ("devops.create",
                                                                    "devops.export")})  # fmt: skip
    worker.drain()
    [item] = standin.items()
    assert item["fields"]["System.WorkItemType"] == "Bug"
    moved = dapi.client.post(
        f"/api/tickets/{ticket['id']}/transition",
        json={"to": "cancelled", "note": "klient zrezygnował"},
        headers=dapi.h(),
    )
    assert moved.status_code == 200, moved.text
    worker.drain()
    [item] = standin.items()
    assert item["fields"]["System.State"] == "Removed", "Scrum's Removed-category state"
    assert any("anulowane" in c for c in item["comments"])
    standin.admin.post(f"/_standin/workitems/{item['id']}/state", json={"state": "Done"})
    hook = _hook(item["id"], item["rev"] + 1, "Done", old="Removed")
    answer = dapi.client.post("/api/devops/webhook", json=hook, headers=_basic(SECRET))
    assert answer.json()["outcome"] == "applied"
    notes = [h["note"] for h in _show(dapi, ticket["id"])["history"]
             if h["action"] == "devops_feedback"]  # fmt: skip
    assert notes == ["Produkcja zakończyła"], "Done is Completed in Scrum"


def test_a_basic_project_gets_issues(dapi: Api, standin: ServedStandin) -> None:
    standin.admin.post("/_standin/reset", json={"process": "Basic"}).raise_for_status()
    dapi.client.get("/api/devops/project", headers=dapi.h()).raise_for_status()
    ticket, _ = _handed_off(dapi)
    [item] = standin.items()
    assert item["fields"]["System.WorkItemType"] == "Issue"
    assert _show(dapi, ticket["id"])["devops_work_item_id"] == item["id"]


def test_a_pending_retry_after_holds_the_admin_route_too(dapi: Api, standin: ServedStandin) -> None:
    _linked_ticket(dapi)
    standin.fault(mode="rate_limit", retry_after=30, match="batch")
    first = dapi.client.post("/api/devops/reconcile", headers=dapi.h()).json()
    assert first["retry_after"] == 30.0
    calls = len(standin.calls())
    second = dapi.client.post("/api/devops/reconcile", headers=dapi.h()).json()
    assert second["retry_after"] is not None and 0 < second["retry_after"] <= 30
    assert len(standin.calls()) == calls, "nothing is sent before Retry-After passes"
    from tickets.core.settings import DevOpsSettings
    from tickets.handoff.service import make_client

    devops = dapi.container.settings.devops
    assert isinstance(devops, DevOpsSettings)
    with make_client(devops) as worker_client:
        assert worker_client.delay_before_next_call() > 0, "the worker's client waits too"
    forget_retry_after()


def test_the_admin_page_shows_the_projects_areas_and_states(dapi: Api) -> None:
    bad = {"items": [{"module": "Handel", "area_path": "Sedno\\Handel"}]}
    dapi.client.put("/api/devops/modules", json=bad, headers=dapi.h())
    answer = dapi.client.get("/admin/devops", headers=dapi.h())
    assert answer.status_code == 200, answer.text
    html = answer.text
    assert "Integracja z Azure DevOps" in html and "Agile" in html
    assert 'Resolved <span class="muted">(Resolved)</span>' in html
    assert "<code>Sedno\\Handel</code>" in html
    assert "tylko komentarz i tag" in html, "cancelled: an Agile bug has no Removed state"
    assert dapi.client.get("/admin/devops", headers=dapi.h("consultant")).status_code == 403
