"""Campaigns, projects and tickets in projects, through the HTTP API on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api
from tickets.handoff.orm import DevOpsModuleRow


def _setup(api: Api) -> tuple[int, int]:
    with api.container.db.transaction() as s:
        s.add(DevOpsModuleRow(module="Kadry Płace", area_path="Sedno\\Kadry"))
    campaign = api.client.post("/api/campaigns", json={"name": "Wdrożenia 2027"},
                               headers=api.h("curator"))  # fmt: skip
    assert campaign.status_code == 201, campaign.text
    project = api.client.post(
        "/api/projects",
        json={"campaign_id": campaign.json()["id"], "name": "Kadry w Łodzi", "kind": "external",
              "module": "Kadry Płace"},
        headers=api.h("curator"),
    )  # fmt: skip
    assert project.status_code == 201, project.text
    return campaign.json()["id"], project.json()["id"]


def test_campaigns_and_projects_are_created_and_listed(api: Api) -> None:
    campaign_id, project_id = _setup(api)
    listed = api.client.get("/api/campaigns", headers=api.h("consultant")).json()["items"]
    assert [(c["name"], c["projects"]) for c in listed] == [("Wdrożenia 2027", 1)]
    projects = api.client.get("/api/projects", params={"campaign_id": campaign_id, "kind":
                              "external"}, headers=api.h("consultant")).json()["items"]  # fmt: skip
    assert [(p["id"], p["campaign_name"], p["module"]) for p in projects] == [
        (project_id, "Wdrożenia 2027", "Kadry Płace")
    ]
    assert api.client.get("/api/projects", params={"kind": "internal"},
                          headers=api.h()).json()["items"] == []  # fmt: skip


def test_bad_projects_are_refused_naming_the_field(api: Api) -> None:
    campaign_id, _ = _setup(api)
    h = api.h("curator")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"campaign_id": 999, "name": "X", "kind": "internal"}, 422, "campaign_id"),
        ({"campaign_id": campaign_id, "name": "X", "kind": "both"}, 400, "kind"),
        ({"campaign_id": campaign_id, "name": "X", "kind": "internal", "module": "Nieznany"},
         422, "module"),
        ({"campaign_id": campaign_id, "name": "X", "kind": "internal", "client_id": 999},
         422, "client_id"),
    ]  # fmt: skip
    for body, status, field in cases:
        answer = api.client.post("/api/projects", json=body, headers=h)
        assert (answer.status_code, answer.json().get("field")) == (status, field), body
    again = api.client.post("/api/projects", json={"campaign_id": campaign_id,
                            "name": "Kadry w Łodzi", "kind": "internal"}, headers=h)  # fmt: skip
    assert (again.status_code, again.json()["type"]) == (409, "project-exists")
    dup = api.client.post("/api/campaigns", json={"name": "wdrożenia 2027"}, headers=h)
    assert (dup.status_code, dup.json()["type"]) == (409, "campaign-exists")
    assert api.client.post("/api/campaigns", json={"name": "Inna"},
                           headers=api.h("consultant")).status_code == 403  # fmt: skip


def test_tickets_join_a_project_which_lists_its_tasks_and_events(api: Api) -> None:
    _, project_id = _setup(api)
    h = api.h("consultant")
    task = api.client.post("/api/tickets", json={"title": "Import kadr", "project_id": project_id},
                           headers=h)  # fmt: skip
    assert task.status_code == 201
    assert (task.json()["project_id"], task.json()["project_name"]) == (project_id, "Kadry w Łodzi")
    call = api.client.post("/api/tickets", json={"definition": "ZT", "title": "Telefon"},
                           headers=h).json()  # fmt: skip
    moved = api.client.patch(f"/api/tickets/{call['id']}", json={"project_id": project_id},
                             headers=h)  # fmt: skip
    assert moved.status_code == 200 and moved.json()["project_id"] == project_id
    api.client.post("/api/tickets", json={"title": "Poza projektem"}, headers=h)
    bad = api.client.post("/api/tickets", json={"title": "X", "project_id": 999}, headers=h)
    assert (bad.status_code, bad.json()["field"]) == (422, "project_id")

    listed = api.client.get("/api/tickets", params={"project_id": project_id}, headers=h).json()
    assert sorted(t["id"] for t in listed["items"]) == sorted([task.json()["id"], call["id"]])
    detail = api.client.get(f"/api/projects/{project_id}", headers=h).json()
    assert [t["title"] for t in detail["tasks"]] == ["Import kadr"]
    assert [t["title"] for t in detail["events"]] == ["Telefon"]
    assert detail["open_tasks"] == 1
    assert api.client.get("/api/projects/999", headers=h).status_code == 404
