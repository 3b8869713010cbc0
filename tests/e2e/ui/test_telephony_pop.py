"""The screen pop in headless Chromium: PBX events posted to a real server (uvicorn) reach the
consultant's console over Server-Sent Events; the top-bar status switch; the replayed day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.ui.conftest import (
    PHONE,
    TELEPHONY_SECRET,
    Server,
    login,
    no_sideways_scroll,
    screenshot,
)
from tickets.core.db import utcnow
from tickets.core.orm import TicketRow, TimeEntryRow, UserRow
from tickets.telephony import statuses
from tickets.telephony.orm import CallRow, TelephonyUserRow
from tools.pbx_replay import Pbx, plan_day, replay
from tools.telephony_demo import load_telephony_demo


@pytest.fixture
def pbx(ui_server: Server) -> Pbx:
    load_telephony_demo(ui_server.container.db)
    return Pbx(ui_server.url, TELEPHONY_SECRET, httpx.Client(timeout=10.0))


def _status_of(server: Server, login_name: str) -> str:
    with server.container.db.read() as s:
        user = s.scalar(select(UserRow).where(UserRow.login == login_name))
        assert user is not None
        line = s.get(TelephonyUserRow, user.id)
        assert line is not None
        return line.status


def _set_status(server: Server, login_name: str, status: str) -> None:
    with server.container.db.transaction() as s:
        user = s.scalar(select(UserRow).where(UserRow.login == login_name))
        assert user is not None
        statuses.set_status(s, user.id, status, utcnow())


def _wait_for_stream(page: Any) -> None:
    page.locator("body[data-tel-stream=open]").wait_for(state="attached")


def test_ringing_pops_the_caller_warnings_first_and_answer_opens_the_zt(
    page: Any, ui_server: Server, pbx: Pbx
) -> None:
    login(page, ui_server.url)
    switch = page.locator(".tel-status select")
    switch.wait_for()
    assert switch.locator("option:checked").inner_text() == "Wolny"
    assert page.locator(".tel-ext").inner_text() == "wew. 101"
    switch.select_option("break")
    page.locator(".tel-status[data-status=break]").wait_for()
    assert _status_of(ui_server, "konsultant") == "break"
    # A consultant on a break gets no calls routed; free again, she does.
    assert pbx.route("600 100 202") != "101"
    page.locator(".tel-status select").select_option("available")
    page.locator(".tel-status[data-status=available]").wait_for()
    _wait_for_stream(page)

    # Jerzy Żuraw of Zakład Mięsny Żuraw (Zakaz kontaktu) calls while Anna is the one free
    # consultant; the dialplan asks the route (its precedence: tests/integration).
    _set_status(ui_server, "kurator", "away")
    _set_status(ui_server, "admin.demo", "away")
    extension = pbx.route("+48 600 100 202")
    assert extension == "101"
    call_id = "ui-call-1"
    pbx.event(call_id, "ringing", "+48 600 100 202", extension, None)
    pop = page.locator("#tel-pop")
    pop.locator(".tel-pop-state").wait_for()
    assert pop.locator(".tel-pop-state").inner_text().lower() == "dzwoni"
    assert pop.locator(".tel-pop-number").inner_text() == "+48 600 100 202"
    warnings = pop.locator(".warnings")
    assert warnings.locator("li.dnc").inner_text().lower() == "zakaz kontaktu"
    assert "Zaległe płatności" in warnings.inner_text()
    assert pop.locator(".tel-contact").inner_text().startswith("Jerzy Żuraw")
    assert "Zakład Mięsny Żuraw" in pop.locator(".tel-client").inner_text()
    assert pop.locator(".tel-recent li").count() >= 1
    # Warnings come before anything else about the caller.
    order = page.evaluate(
        """() => { const p = document.getElementById('tel-pop');
                   const w = p.querySelector('.warnings'), c = p.querySelector('.tel-contact');
                   return !!(w.compareDocumentPosition(c) & Node.DOCUMENT_POSITION_FOLLOWING); }"""
    )
    assert order is True
    screenshot(page, "telephony-pop")

    answered = pbx.event(call_id, "answered", "+48 600 100 202", extension, None)
    assert answered["outcome"] == "applied" and answered["ticket_id"]
    page.locator("#tel-pop .tel-open").wait_for()
    assert page.locator("#tel-pop .tel-pop-state").inner_text().lower() == "rozmowa w toku"
    number = page.locator("#tel-pop .tel-open").inner_text()
    assert "ZT/" in number
    page.locator(".tel-status[data-status=on_call]").wait_for()
    assert page.locator(".tel-status select option:checked").inner_text() == "Rozmowa z klientem"
    # The stopwatch of the pop runs: it leaves 00:00 (waited for, not slept on).
    page.wait_for_function(
        "() => document.querySelector('[data-pop-stopwatch]')?.textContent.trim() !== '00:00'"
    )
    assert page.locator("[data-pop-stopwatch]").inner_text() != "00:00"
    screenshot(page, "telephony-pop-answered")

    pbx.event(call_id, "ended", "+48 600 100 202", extension, None)
    page.locator("#tel-pop [data-state=ended]").wait_for()
    assert page.locator("#tel-pop .tel-pop-state").inner_text().lower() == "rozmowa zakończona"
    with ui_server.container.db.read() as s:
        call = s.scalar(select(CallRow).where(CallRow.call_id == call_id))
        assert call is not None and call.ticket_id == answered["ticket_id"]
        timer = s.scalar(select(TimeEntryRow).where(TimeEntryRow.ticket_id == call.ticket_id))
        assert timer is not None and timer.stopped_at is not None
    # The consultant opens the ZT event from the pop.
    page.locator("#tel-pop .tel-open").click()
    page.wait_for_url(f"{ui_server.url}/call/{answered['ticket_id']}")
    assert "Połączenie: Jerzy Żuraw" in page.locator("#title").input_value()


def test_the_pop_on_a_phone_does_not_scroll_sideways(
    browser: Any, ui_server: Server, pbx: Pbx
) -> None:
    context = browser.new_context(
        viewport=PHONE, locale="pl-PL", timezone_id="Europe/Warsaw", is_mobile=True
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(tab, ui_server.url)
        tab.locator(".tel-status select").wait_for()
        no_sideways_scroll(tab)
        _wait_for_stream(tab)
        # Marta Łączka of Piekarnia Łączka, whose own consultant is Anna (ext. 101).
        _set_status(ui_server, "konsultant", "available")
        assert pbx.route("600 100 201") == "101"
        pbx.event("ui-call-2", "ringing", "600 100 201", "101", None)
        tab.locator("#tel-pop .tel-contact").wait_for()
        assert tab.locator("#tel-pop .tel-contact").inner_text().startswith("Marta Łączka")
        assert tab.locator("#tel-pop .warnings").count() == 0
        box = tab.locator("#tel-pop").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        no_sideways_scroll(tab)
        screenshot(tab, "telephony-pop-phone")
        pbx.event("ui-call-2", "ended", "600 100 201", "101", None)  # unanswered
        tab.goto(f"{ui_server.url}/telephony/callbacks")
        tab.locator(".callback").first.wait_for()
        assert "Marta Łączka" in tab.locator(".callbacks").inner_text()
        no_sideways_scroll(tab)
        screenshot(tab, "telephony-callbacks-phone")
        tab.locator(".callback", has_text="Marta Łączka").locator("button").click()
        tab.wait_for_url(f"{ui_server.url}/telephony/callbacks")
        assert "Marta Łączka" not in tab.locator("main").inner_text()
    finally:
        context.close()
    assert errors == []


def test_the_demo_replays_a_day_of_calls(ui_server: Server, pbx: Pbx) -> None:
    for login_name in ("konsultant", "kurator", "admin.demo"):
        _set_status(ui_server, login_name, "available")
    calls = plan_day(12, seed=3, day=dt.date(2026, 11, 30))
    counts = replay(pbx, calls, speed=0, log=lambda _line: None)
    internal = sum(1 for c in calls if len(c.caller) <= 3)
    assert counts.get("ignored", 0) >= 2 * internal  # internal calls are not logged
    assert counts.get("applied", 0) > 0 and counts.get("duplicate", 0) == 0
    replayed = {c.call_id for c in calls if len(c.caller) > 3}
    with ui_server.container.db.read() as s:
        rows = list(s.scalars(select(CallRow).where(CallRow.call_id.in_(replayed))))
        assert {r.call_id for r in rows} == replayed
        answered = [r for r in rows if r.answered_at is not None]
        assert answered and all(r.state == "ended" for r in answered)
        # Every call answered at a consultant's extension has its ZT event.
        at_consultants = [r for r in answered if r.user_id is not None]
        assert at_consultants and all(r.ticket_id for r in at_consultants)
        events = {r.ticket_id for r in at_consultants}
        zt = list(s.scalars(select(TicketRow).where(TicketRow.id.in_(events))))
        assert all(t.definition_code == "ZT" for t in zt)
    # Replaying the same day again changes nothing (idempotent per call and event).
    again = replay(pbx, calls, speed=0, log=lambda _line: None)
    assert again.get("applied", 0) == 0
