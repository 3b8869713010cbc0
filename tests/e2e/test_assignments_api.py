"""The assignee answers an assignment through the API: the ticket shows the state, anyone
else is refused, bad input names its field, and a rejection unassigns the ticket."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import Api
from tickets.core.orm import UserRow


def _user_id(api: Api, login: str) -> int:
    with api.container.db.read() as s:
        user_id = s.scalar(select(UserRow.id).where(UserRow.login == login))
        assert user_id is not None
        return int(user_id)


def _assigned(api: Api) -> dict[str, object]:
    created = api.client.post("/api/tickets", headers=api.h(), json={
        "title": "Nie działa eksport JPK", "lead_consultant_id": _user_id(api, "consultant")})  # fmt: skip
    assert created.status_code == 201, created.text
    return dict(created.json())


def _answer(api: Api, ticket_id: object, role: str, body: object) -> tuple[int, dict[str, object]]:
    r = api.client.post(f"/api/tickets/{ticket_id}/assignment/answer", json=body,
                        headers=api.h(role))  # fmt: skip
    return r.status_code, r.json()


def test_the_ticket_shows_a_pending_assignment_that_only_the_assignee_answers(api: Api) -> None:
    ticket = _assigned(api)
    assignment = ticket["assignment"]
    assert isinstance(assignment, dict)
    assert (assignment["state"], assignment["assignee_name"]) == ("pending", "Consultant")
    status, problem = _answer(api, ticket["id"], "curator", {"answer": "confirmed"})
    assert (status, problem["status"]) == (403, 403)
    status, problem = _answer(api, ticket["id"], "consultant", {"answer": "maybe"})
    assert status == 400 and "answer" in str(problem["detail"])
    status, problem = _answer(api, ticket["id"], "consultant", {"answer": "rejected",
                                                                 "reason": "x" * 2001})  # fmt: skip
    assert status == 400 and "reason" in str(problem["detail"])
    status, shown = _answer(api, ticket["id"], "consultant", {"answer": "confirmed"})
    assert status == 200
    assert shown["assignment"]["state"] == "confirmed"  # type: ignore[index]
    status, problem = _answer(api, ticket["id"], "consultant", {"answer": "rejected"})
    assert (status, problem["type"].rsplit("/", 1)[-1]) == (409, "assignment-answered")  # type: ignore[union-attr]


def test_a_rejection_unassigns_the_ticket_and_the_assigner_hears_of_it(api: Api) -> None:
    ticket = _assigned(api)
    status, shown = _answer(api, ticket["id"], "consultant",
                            {"answer": "rejected", "reason": "Nie znam modułu JPK"})  # fmt: skip
    assert status == 200
    assert shown["lead_consultant_id"] is None
    assert shown["assignment"] == {**shown["assignment"], "state": "rejected",  # type: ignore[dict-item]
                                   "reason": "Nie znam modułu JPK", "answered_via": "console"}  # fmt: skip
    notices = api.client.get("/api/notifications", headers=api.h()).json()["items"]
    assert [n["event"] for n in notices] == ["assignment_rejected"]
    assert "Nie znam modułu JPK" in notices[0]["body"]
    mine = api.client.get("/api/tickets?mine=true", headers=api.h("consultant")).json()
    assert ticket["id"] not in [t["id"] for t in mine["items"]]
    # A ticket nobody assigned has nothing to answer.
    own = api.client.post("/api/tickets", json={"title": "Moje"}, headers=api.h("consultant"))
    status, problem = _answer(api, own.json()["id"], "consultant", {"answer": "confirmed"})
    assert status == 409 and str(problem["type"]).endswith("no-assignment")
