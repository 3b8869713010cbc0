"""The planner's HTTP routes on SQLite and PostgreSQL: shapes, problem details, roles."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import Api
from tickets.core.orm import UserRow

WEEK = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def _ids(api: Api) -> tuple[int, int, int]:
    """The client, the consultant's user id, a ticket."""
    client = api.client.post("/api/clients", json={"name": "Piekarnia Kłos"}, headers=api.h())
    assert client.status_code == 201, client.text
    ticket = api.client.post(
        "/api/tickets",
        json={"title": "Przegląd", "client_id": client.json()["id"]},
        headers=api.h(),
    )
    with api.container.db.read() as s:
        consultant = s.scalar(select(UserRow.id).where(UserRow.login == "consultant"))
    assert consultant is not None
    return client.json()["id"], consultant, ticket.json()["id"]


def test_schedule_routes(api: Api) -> None:
    client_id, consultant, _ = _ids(api)
    body = {"client_id": client_id, "title": "Przegląd roczny", "every": "month",
            "start_date": "2031-01-31", "lead_days": 3, "operator_id": consultant,
            "module": "Handel", "priority": "wysoki"}  # fmt: skip
    created = api.client.post("/api/schedules", json=body, headers=api.h("consultant"))
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["next_due"] == "2031-01-31" and schedule["next_creation"] == "2031-01-28"
    upcoming = api.client.get(f"/api/schedules/{schedule['id']}/upcoming?count=4", headers=api.h())
    assert [i["due_date"] for i in upcoming.json()["items"]] == [
        "2031-01-31", "2031-02-28", "2031-03-31", "2031-04-30"
    ]  # fmt: skip
    paused = api.client.patch(
        f"/api/schedules/{schedule['id']}", json={"paused": True, "end_date": "2031-12-31"},
        headers=api.h(),
    )  # fmt: skip
    assert paused.status_code == 200 and paused.json()["paused"] is True
    listed = api.client.get(f"/api/schedules?client_id={client_id}", headers=api.h()).json()
    assert [s["id"] for s in listed["items"]] == [schedule["id"]]
    assert api.client.post("/api/schedules/run", headers=api.h("consultant")).status_code == 403
    run = api.client.post("/api/schedules/run", headers=api.h())
    assert run.status_code == 200 and run.json() == {"created": []}


def test_a_schedule_due_sooner_than_its_lead_days_makes_its_ticket_at_once(api: Api) -> None:
    import datetime as dt

    client_id, _, _ = _ids(api)
    due = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    body = {"client_id": client_id, "title": "Przegląd", "every": "year", "start_date": due,
            "lead_days": 3}  # fmt: skip
    created = api.client.post("/api/schedules", json=body, headers=api.h())
    assert created.status_code == 201
    assert created.json()["next_due"] != due  # already made
    tickets = api.client.get("/api/tickets?q=Przegląd", headers=api.h()).json()["items"]
    assert any(t["title"] == f"Przegląd ({due})" for t in tickets)


def test_bad_schedule_input_names_the_field(api: Api) -> None:
    client_id, _, _ = _ids(api)
    cases = [
        ({"client_id": client_id, "title": "x", "every": "day", "start_date": "2031-01-01"}, "every"),
        ({"client_id": 99999, "title": "x", "every": "week", "start_date": "2031-01-01"}, "client_id"),
        ({"client_id": client_id, "title": "x", "every": "week", "start_date": "2031-02-30"}, "start_date"),
        ({"client_id": client_id, "title": "x", "every": "week", "start_date": "2031-01-01",
          "lead_days": -1}, "lead_days"),
        ({"client_id": client_id, "title": "x", "every": "week", "start_date": "2031-01-01",
          "end_date": "2030-01-01"}, "end_date"),
    ]  # fmt: skip
    for body, field in cases:
        r = api.client.post("/api/schedules", json=body, headers=api.h())
        assert 400 <= r.status_code < 500, (field, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (field, r.text)


def test_calendar_appointments_and_todo(api: Api) -> None:
    _, consultant, ticket_id = _ids(api)
    put = api.client.put(
        f"/api/operators/{consultant}/calendar",
        json={"weekly_hours": WEEK, "absences": [{"from": "2031-01-08", "to": "2031-01-08",
              "reason": "szkolenie"}], "competences": [], "site": "Kraków", "group": "serwis"},
        headers=api.h("consultant"),
    )  # fmt: skip
    assert put.status_code == 200, put.text
    assert put.json()["absences"][0]["start"] == "2031-01-07T23:00:00Z"
    other = api.client.put(
        "/api/operators/1/calendar", json={"weekly_hours": WEEK}, headers=api.h("consultant")
    )
    assert other.status_code == 403
    bad = api.client.put(
        f"/api/operators/{consultant}/calendar", json={"weekly_hours": {"mon": [["9", "17:00"]]}},
        headers=api.h(),
    )  # fmt: skip
    assert bad.status_code == 400 and "weekly_hours" in bad.text
    booked = api.client.post(
        "/api/planner/appointments",
        json={"ticket_id": ticket_id, "operator_id": consultant, "start": "2031-01-07T09:00",
              "end": "2031-01-07T10:30"},
        headers=api.h(),
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["start"] == "2031-01-07T08:00:00Z"
    assert appointment["start_local"] == "2031-01-07T09:00:00+01:00"
    clash = api.client.post(
        "/api/planner/appointments",
        json={"ticket_id": ticket_id, "operator_id": consultant, "start": "2031-01-07T10:00:00+01:00"},
        headers=api.h(),
    )  # fmt: skip
    assert clash.status_code == 409 and clash.json()["type"] == "appointment-overlap"
    assert clash.headers["content-type"].startswith("application/problem+json")
    absent = api.client.patch(
        f"/api/planner/appointments/{appointment['id']}", json={"start": "2031-01-08T09:00"},
        headers=api.h(),
    )  # fmt: skip
    assert absent.status_code == 409 and absent.json()["type"] == "operator-unavailable"
    holiday = api.client.patch(
        f"/api/planner/appointments/{appointment['id']}", json={"start": "2031-01-06T09:00",
        "end": "2031-01-06T09:30", "operator_id": consultant}, headers=api.h(),
    )  # fmt: skip
    # 6 January (Trzech Króli) is a public holiday in Poland
    assert holiday.status_code == 409 and "holiday 2031-01-06" in holiday.json()["detail"]
    moved = api.client.patch(
        f"/api/planner/appointments/{appointment['id']}", json={"start": "2031-01-09T12:00"},
        headers=api.h(),
    )  # fmt: skip
    assert moved.status_code == 200 and moved.json()["end_local"] == "2031-01-09T13:30:00+01:00"
    todo = api.client.get(f"/api/todo?operator_id={consultant}&date=2031-01-09", headers=api.h())
    assert [a["id"] for a in todo.json()["appointments"]] == [appointment["id"]]
    mine = api.client.get("/api/todo?date=2031-01-09", headers=api.h("consultant")).json()
    assert mine["operator_id"] == consultant and len(mine["appointments"]) == 1
    done = api.client.post(
        f"/api/planner/appointments/{appointment['id']}/done", json={"done": True}, headers=api.h()
    )
    assert done.json()["status"] == "done"
    listed = api.client.get(
        f"/api/planner/appointments?from=2031-01-05&to=2031-01-11&operator_id={consultant}",
        headers=api.h(),
    ).json()  # fmt: skip
    assert [a["id"] for a in listed["items"]] == [appointment["id"]]
    week = api.client.get("/api/planner/week?start=2031-01-07&group=serwis", headers=api.h()).json()
    assert week["monday"] == "2031-01-06" and [o["user_id"] for o in week["operators"]] == [
        consultant
    ]
    monday, _, wednesday, thursday = week["operators"][0]["days"][:4]
    assert {s["state"] for s in monday["slots"]} == {"off"} and monday["holiday"]
    assert {s["state"] for s in wednesday["slots"]} == {"off"}  # the absence
    assert {s["state"] for s in thursday["slots"]} == {"free", "busy"}
    cancelled = api.client.delete(f"/api/planner/appointments/{appointment['id']}", headers=api.h())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    missing = api.client.post(
        "/api/planner/appointments",
        json={"ticket_id": 424242, "operator_id": consultant, "start": "2031-01-07T09:00"},
        headers=api.h(),
    )  # fmt: skip
    assert missing.status_code == 422 and missing.json()["field"] == "ticket_id"
    nonsense = api.client.post(
        "/api/planner/appointments",
        json={"ticket_id": ticket_id, "operator_id": consultant, "start": "jutro"},
        headers=api.h(),
    )  # fmt: skip
    assert nonsense.status_code == 400 and "start" in nonsense.text


def test_holiday_routes(api: Api) -> None:
    listed = api.client.get("/api/calendar/holidays?year=2026", headers=api.h()).json()["items"]
    assert {"day": "2026-11-11", "name": "Narodowe Święto Niepodległości", "source": "builtin",
            "closed": True} in listed  # fmt: skip
    assert api.client.put(
        "/api/calendar/holidays/2026-12-31", json={"name": "Sylwester"}, headers=api.h("consultant")
    ).status_code == 403  # fmt: skip
    added = api.client.put(
        "/api/calendar/holidays/2026-12-31", json={"name": "Sylwester"}, headers=api.h()
    )
    assert added.status_code == 200 and added.json()["source"] == "desk"
    bad = api.client.put("/api/calendar/holidays/2026-13-01", json={}, headers=api.h())
    assert bad.status_code == 422 and bad.json()["field"] == "day"
    assert (
        api.client.delete("/api/calendar/holidays/2026-12-31", headers=api.h()).status_code == 204
    )
    assert (
        api.client.delete("/api/calendar/holidays/2026-12-31", headers=api.h()).status_code == 404
    )
