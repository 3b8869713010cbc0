"""Categories, checklists, deadlines and parents with children, through HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.e2e.conftest import Api

TEMPLATE = {
    "category": "Wdrożenie",
    "items": [
        {"text": "Kopia bazy przed zmianą", "required": True},
        {"text": "Instrukcja dla klienta", "required": False},
    ],
}


def _task(api: Api, **fields: object) -> dict:
    r = api.client.post("/api/tickets", json={"title": "Zadanie", **fields}, headers=api.h())
    assert r.status_code == 201, r.text
    return r.json()


def _move(api: Api, ticket_id: int, to: str, **extra: object) -> Any:
    """Move a task; `completed` goes through `in_progress` first, as the definition asks."""
    if to == "completed":
        state = api.client.get(f"/api/tickets/{ticket_id}", headers=api.h()).json()["state"]
        if state == "reported":
            r = api.client.post(
                f"/api/tickets/{ticket_id}/transition", json={"to": "in_progress"}, headers=api.h()
            )
            assert r.status_code == 200, r.text
    return api.client.post(
        f"/api/tickets/{ticket_id}/transition", json={"to": to, **extra}, headers=api.h()
    )


def test_a_checklist_template_adds_its_category_and_is_copied_onto_new_tasks(api: Api) -> None:
    r = api.client.post("/api/checklists", json=TEMPLATE, headers=api.h("curator"))
    assert r.status_code == 201, r.text
    assert r.json()["items"][0] == {"text": "Kopia bazy przed zmianą", "required": True}
    categories = api.client.get("/api/categories", headers=api.h()).json()["items"]
    assert [(c["name"], c["has_checklist"]) for c in categories] == [("Wdrożenie", True)]
    assert api.client.get("/api/checklists", headers=api.h()).json()["items"][0]["category"] == (
        "Wdrożenie"
    )
    again = api.client.post("/api/checklists", json=TEMPLATE, headers=api.h("curator"))
    assert again.status_code == 409 and again.json()["type"] == "checklist-exists"

    task = _task(api, category="Wdrożenie")
    assert [(i["text"], i["required"], i["done"]) for i in task["checklist"]] == [
        ("Kopia bazy przed zmianą", True, False),
        ("Instrukcja dla klienta", False, False),
    ]
    # A later template change leaves the copy alone.
    r = api.client.put(
        "/api/checklists",
        json={"category": "Wdrożenie", "items": [{"text": "Nowy krok", "required": True}]},
        headers=api.h("curator"),
    )
    assert r.status_code == 200 and [i["text"] for i in r.json()["items"]] == ["Nowy krok"]
    view = api.client.get(f"/api/tickets/{task['id']}", headers=api.h()).json()
    assert len(view["checklist"]) == 2
    assert [i["text"] for i in _task(api, category="Wdrożenie")["checklist"]] == ["Nowy krok"]


def test_a_consultant_cannot_edit_templates(api: Api) -> None:
    r = api.client.post("/api/checklists", json=TEMPLATE, headers=api.h("consultant"))
    assert r.status_code == 403


def test_completing_with_a_required_item_open_is_409_until_it_is_ticked(api: Api) -> None:
    api.client.post("/api/checklists", json=TEMPLATE, headers=api.h())
    task = _task(api, category="Wdrożenie")
    required, optional = task["checklist"]
    r = _move(api, task["id"], "completed")
    assert r.status_code == 409
    assert r.json()["type"] == "checklist-incomplete"
    assert "Kopia bazy" in r.json()["detail"]

    r = api.client.post(
        f"/api/tickets/{task['id']}/checklist/{required['id']}",
        json={"done": True},
        headers=api.h("consultant"),
    )
    assert r.status_code == 200, r.text
    item = r.json()["checklist"][0]
    assert item["done"] is True and item["done_by"] is not None and item["done_at"]
    assert item["done_by_name"] == "Consultant"
    done = [h for h in r.json()["history"] if h["action"] == "checklist_done"]
    assert [h["new_value"] for h in done] == ["Kopia bazy przed zmianą"]
    # The optional item may stay open.
    r = _move(api, task["id"], "completed")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "completed"
    assert optional["done"] is False


def test_unticking_and_a_foreign_item(api: Api) -> None:
    api.client.post("/api/checklists", json=TEMPLATE, headers=api.h())
    task = _task(api, category="Wdrożenie")
    other = _task(api, category="Wdrożenie")
    item = task["checklist"][0]["id"]
    url = f"/api/tickets/{task['id']}/checklist/{item}"
    api.client.post(url, json={"done": True}, headers=api.h())
    r = api.client.post(url, json={"done": False}, headers=api.h())
    assert r.json()["checklist"][0]["done"] is False
    assert r.json()["checklist"][0]["done_by"] is None
    r = api.client.post(
        f"/api/tickets/{other['id']}/checklist/{item}", json={"done": True}, headers=api.h()
    )
    assert r.status_code == 404
    r = api.client.post(url, json={"done": "tak"}, headers=api.h())
    assert r.status_code == 400 and r.json()["field"] == "done"


def test_categories_belong_to_types(api: Api) -> None:
    r = api.client.post(
        "/api/categories", json={"name": "Błąd krytyczny", "types": ["bug"]}, headers=api.h()
    )
    assert r.status_code == 201, r.text
    assert _task(api, category="Błąd krytyczny", type="bug")["category"] == "Błąd krytyczny"
    r = api.client.post(
        "/api/tickets",
        json={"title": "x", "category": "Błąd krytyczny", "type": "question"},
        headers=api.h(),
    )
    assert r.status_code == 422 and r.json()["field"] == "category"
    r = api.client.post(
        "/api/tickets", json={"title": "x", "category": "Nieznana"}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "category"
    r = api.client.post(
        "/api/categories", json={"name": "Zła", "types": ["nie-ma-takiego"]}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "types[0]"


def test_a_category_given_later_brings_its_checklist(api: Api) -> None:
    api.client.post("/api/checklists", json=TEMPLATE, headers=api.h())
    task = _task(api)
    assert task["checklist"] == []
    r = api.client.patch(
        f"/api/tickets/{task['id']}", json={"category": "Wdrożenie"}, headers=api.h()
    )
    assert r.status_code == 200 and len(r.json()["checklist"]) == 2


def test_deadlines_location_paid_and_the_overdue_list(api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    past = _task(
        api,
        due_from=(now - dt.timedelta(days=3)).isoformat(),
        due_to=(now - dt.timedelta(days=1)).isoformat(),
        location="Kraków, ul. Długa 5",
        paid=True,
    )
    assert past["overdue"] is True and past["location"] == "Kraków, ul. Długa 5"
    assert past["paid"] is True
    future = _task(api, due_to=(now + dt.timedelta(days=2)).isoformat())
    assert future["overdue"] is False
    done = _task(api, due_to=(now - dt.timedelta(days=5)).isoformat())
    assert _move(api, done["id"], "completed").status_code == 200
    items = api.client.get("/api/tickets/overdue", headers=api.h()).json()["items"]
    assert [i["id"] for i in items] == [past["id"]]
    assert items[0]["overdue_s"] >= 86_000

    r = api.client.post(
        "/api/tickets",
        json={"title": "x", "due_from": now.isoformat(), "due_to": "2020-01-01T00:00:00Z"},
        headers=api.h(),
    )
    assert r.status_code == 422 and r.json()["field"] == "due_to"
    r = api.client.patch(
        f"/api/tickets/{future['id']}", json={"due_from": "2099-01-01T00:00:00Z"}, headers=api.h()
    )
    assert r.status_code == 422 and r.json()["field"] == "due_to"
    r = api.client.patch(f"/api/tickets/{future['id']}", json={"paid": True}, headers=api.h())
    assert r.json()["paid"] is True


def test_a_parent_shows_progress_and_cannot_close_over_open_children(api: Api) -> None:
    parent = _task(api, title="Wdrożenie u klienta")
    kids = [_task(api, title=f"Krok {i}", parent_id=parent["id"]) for i in range(3)]
    assert _move(api, kids[0]["id"], "completed").status_code == 200
    assert _move(api, kids[1]["id"], "cancelled").status_code == 200
    view = api.client.get(f"/api/tickets/{parent['id']}", headers=api.h()).json()
    assert view["children_progress"] == {"done": 2, "total": 3}
    assert kids[0]["children_progress"] is None

    r = _move(api, parent["id"], "completed")
    assert r.status_code == 409
    assert r.json()["type"] == "children-open"
    assert kids[2]["number"] in r.json()["detail"]
    r = _move(api, parent["id"], "completed", force=True)
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = _move(api, parent["id"], "completed", force=True, note="Klient rezygnuje z kroku 2")
    assert r.status_code == 200, r.text
    forced = [h for h in r.json()["history"] if h["action"] == "forced_completion"]
    assert forced and forced[0]["note"] == "Klient rezygnuje z kroku 2"
    assert forced[0]["new_value"] == kids[2]["number"]
    # Cancelling a parent is not held up by its children.
    other = _task(api)
    _task(api, parent_id=other["id"])
    assert _move(api, other["id"], "cancelled").status_code == 200
