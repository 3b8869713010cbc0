"""Hourly rates, billable time and the time report (JSON and CSV), through HTTP."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.e2e.conftest import Api

PERIOD = "from=2026-11-01&to=2026-11-30"


def _id(api: Api, role: str) -> int:
    return int(api.client.get("/api/me", headers=api.h(role)).json()["user_id"])


def _post(api: Api, url: str, body: dict[str, Any], role: str = "admin") -> dict[str, Any]:
    r = api.client.post(url, json=body, headers=api.h(role))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _time(api: Api, role: str, ticket: int, minutes: int, at: str, billable: bool = True) -> int:
    body = {"minutes": minutes, "started_at": at, "billable": billable}
    return int(_post(api, f"/api/tickets/{ticket}/time", body, role)["entry"]["id"])


@pytest.fixture
def desk(api: Api) -> dict[str, Any]:
    """Two clients (one through a partner), three tasks, rates, and a month of time."""
    partner = _post(api, "/api/partners", {"name": "Partner Kraków"})["id"]
    c1 = _post(api, "/api/clients", {"name": "Piekarnia Łączka", "partner_id": partner})["id"]
    c2 = _post(api, "/api/clients", {"name": "Hurtownia Żuraw"})["id"]
    a = _post(api, "/api/tickets", {"title": "A", "client_id": c1, "module": "Kadry Płace"})
    assert a["partner_id"] == partner  # taken from the client
    b = _post(api, "/api/tickets", {"title": "B", "client_id": c2, "module": "Handel"})["id"]
    c = _post(api, "/api/tickets", {"title": "C", "client_id": c2, "billable": False})["id"]
    consultant, curator = _id(api, "consultant"), _id(api, "curator")
    r = api.client.put(
        "/api/rates",
        json={
            "items": [
                {"user_id": consultant, "hourly_rate": "120.00"},
                {"user_id": curator, "hourly_rate": "100"},
                {"partner_id": partner, "hourly_rate": "200.00"},
                {"user_id": consultant, "partner_id": partner, "hourly_rate": "250.00"},
            ]
        },
        headers=api.h(),
    )
    assert r.status_code == 200, r.text
    _time(api, "consultant", a["id"], 90, "2026-11-10T09:00:00Z")  # 250 → 375.00
    for day in (15, 16, 17):  # 3 × 1 min at 250 = 12.50 exactly, 12.51 if each were rounded
        _time(api, "consultant", a["id"], 1, f"2026-11-{day}T09:00:00Z")
    _time(api, "curator", a["id"], 30, "2026-11-10T10:00:00Z")  # the contract's 200 → 100.00
    _time(api, "consultant", b, 60, "2026-11-12T09:00:00Z")  # own 120 → 120.00
    _time(api, "consultant", b, 20, "2026-11-12T11:00:00Z", billable=False)
    _time(api, "consultant", b, 7, "2026-10-31T23:30:00Z")  # 1 Nov 00:30 in Warsaw → 14.00
    _time(api, "consultant", b, 11, "2026-11-30T23:30:00Z")  # 1 Dec in Warsaw: outside
    _time(api, "curator", c, 45, "2026-11-20T09:00:00Z")  # a task that is not billable
    _time(api, "admin", b, 10, "2026-11-21T09:00:00Z")  # nobody priced the admin
    return {"partner": partner, "c1": c1, "c2": c2, "consultant": consultant, "b": b}


def _report(api: Api, query: str, role: str = "curator") -> dict[str, Any]:
    r = api.client.get(f"/api/reports/time?{PERIOD}&{query}", headers=api.h(role))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _rows(report: dict[str, Any]) -> dict[str, tuple[int, int, str]]:
    return {
        row["label"]: (row["seconds"], row["billable_seconds"], row["cost"])
        for row in report["rows"]
    }


def test_report_per_consultant_prices_the_most_specific_rate(
    api: Api, desk: dict[str, Any]
) -> None:
    report = _report(api, "group_by=consultant")
    assert _rows(report) == {
        "Consultant": (10_800, 9_600, "521.50"),
        "Curator": (4_500, 1_800, "100.00"),
        "Administrator": (600, 600, "0.00"),
    }
    assert report["rows"][0]["key"] == str(desk["consultant"])
    assert report["total_seconds"] == 15_900
    assert report["total_cost"] == "621.50"
    assert report["unpriced_seconds"] == 600
    assert report["currency"] == "PLN"


def test_report_per_partner_client_and_module(api: Api, desk: dict[str, Any]) -> None:
    assert _rows(_report(api, "group_by=partner")) == {
        "Partner Kraków": (7_380, 7_380, "487.50"),
        "(bez partnera)": (8_520, 4_620, "134.00"),
    }
    assert _rows(_report(api, "group_by=client")) == {
        "Piekarnia Łączka": (7_380, 7_380, "487.50"),
        "Hurtownia Żuraw": (8_520, 4_620, "134.00"),
    }
    assert _rows(_report(api, "group_by=module")) == {
        "Kadry Płace": (7_380, 7_380, "487.50"),
        "Handel": (5_820, 4_620, "134.00"),
        "(bez modułu)": (2_700, 0, "0.00"),
    }


def test_an_entry_marked_not_billable_leaves_the_cost(api: Api, desk: dict[str, Any]) -> None:
    entry = _time(api, "consultant", desk["b"], 30, "2026-11-25T09:00:00Z")
    assert _report(api, "group_by=consultant")["total_cost"] == "681.50"
    r = api.client.patch(
        f"/api/time-entries/{entry}", json={"billable": False}, headers=api.h("consultant")
    )
    assert r.status_code == 200 and r.json()["billable"] is False
    assert _report(api, "group_by=consultant")["total_cost"] == "621.50"
    other = api.client.patch(
        f"/api/time-entries/{entry}", json={"billable": True}, headers=api.h("admin")
    )
    assert other.status_code == 200  # a curator or admin may correct anyone's entry


def test_csv_opens_in_polish_excel(api: Api, desk: dict[str, Any]) -> None:
    r = api.client.get(
        f"/api/reports/time?{PERIOD}&group_by=client&format=csv", headers=api.h("curator")
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads ł as ł
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Klucz", "Nazwa", "Czas [h]"]
    assert rows[1] == [str(desk["c2"]), "Hurtownia Żuraw", "2,37", "1,28", "8520", "4620", "134,00"]
    assert rows[-1] == ["", "Razem", "4,42", "3,33", "15900", "12000", "621,50"]
    assert b"\r\n" in raw


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-13-01&to=2026-11-30", "from"),
        ("from=2026-02-30&to=2026-03-01", "from"),
        ("from=01.11.2026&to=2026-11-30", "from"),
        ("from=2026-11-01", "to"),
        ("from=2026-11-30&to=2026-11-01", "to"),
        ("from=2026-11-01&to=2026-11-30&group_by=team", "group_by"),
    ],
)
def test_bad_parameters_are_422_naming_them(api: Api, query: str, field: str) -> None:
    r = api.client.get(f"/api/reports/time?{query}", headers=api.h("curator"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field


def test_a_consultant_sees_no_costs_and_sets_no_rates(api: Api) -> None:
    assert (
        api.client.get(f"/api/reports/time?{PERIOD}", headers=api.h("consultant")).status_code
        == 403
    )
    assert api.client.get("/api/rates", headers=api.h("consultant")).status_code == 403
    r = api.client.put("/api/rates", json={"items": []}, headers=api.h("curator"))
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"hourly_rate": "100"}, "items[0].user_id"),
        ({"user_id": 1, "hourly_rate": "12.345"}, "items[0].hourly_rate"),
        ({"user_id": 1, "hourly_rate": "-1"}, "items[0].hourly_rate"),
        ({"user_id": 1, "hourly_rate": 100}, "items[0].hourly_rate"),
        ({"user_id": 1, "hourly_rate": "100001"}, "items[0].hourly_rate"),
        ({"user_id": 999_999, "hourly_rate": "1"}, "items[0].user_id"),
        ({"user_id": 1, "partner_id": 999_999, "hourly_rate": "1"}, "items[0].partner_id"),
    ],
)
def test_bad_rates_are_422_naming_the_field(api: Api, item: dict[str, Any], field: str) -> None:
    r = api.client.put("/api/rates", json={"items": [item]}, headers=api.h())
    # 400: not a decimal string of PLN at all (the decoder); 422: a string that is no rate.
    assert r.status_code in (400, 422), r.text
    assert r.json()["field"] == field


def test_rates_are_listed_and_replaced(api: Api, desk: dict[str, Any]) -> None:
    items = api.client.get("/api/rates", headers=api.h("curator")).json()["items"]
    assert {(i["user_id"], i["partner_id"], i["hourly_rate"]) for i in items} == {
        (desk["consultant"], None, "120.00"),
        (_id(api, "curator"), None, "100.00"),
        (None, desk["partner"], "200.00"),
        (desk["consultant"], desk["partner"], "250.00"),
    }
    api.client.put("/api/rates", json={"items": []}, headers=api.h())
    assert _report(api, "group_by=consultant")["total_cost"] == "0.00"
