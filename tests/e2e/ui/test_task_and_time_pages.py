"""Issue 18 in headless Chromium: a task's checklist and children on the ticket page, and the
time and cost report page, at 1366×768 and 390×844, in Polish."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.ui.conftest import Server, login, screenshot
from tickets.accounts.auth import create_user
from tickets.core import services
from tickets.core.orm import UserRow
from tickets.core.schemas import SYSTEM, Actor, TicketCreate
from tickets.tasks.checklists import replace_template
from tickets.tasks.schemas import ChecklistItemIn, ChecklistTemplateIn
from tickets.timecost.rates import replace_rates
from tickets.timecost.schemas import RateIn, RatesIn

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _user(server: Server, login_name: str) -> Actor:
    with server.container.db.read() as s:
        user = s.scalar(select(UserRow).where(UserRow.login == login_name))
        assert user is not None
        return Actor(user.id, user.name, user.role)


def _parent_with_checklist(server: Server) -> tuple[int, int]:
    with server.container.db.transaction() as s:
        replace_template(
            s,
            ChecklistTemplateIn(
                category="Wdrożenie u klienta",
                items=[
                    ChecklistItemIn(text="Kopia bazy przed aktualizacją", required=True),
                    ChecklistItemIn(text="Instrukcja dla użytkowników"),
                ],
            ),
        )
        parent = services.create_ticket(
            s,
            SYSTEM,
            TicketCreate(
                title="Wdrożenie modułu Kadry",
                category="Wdrożenie u klienta",
                location="Kraków, ul. Długa 5",
                due_to=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
            ),
        )
        child = services.create_ticket(
            s, SYSTEM, TicketCreate(title="Szkolenie kadrowych", parent_id=parent.id)
        )
        services.transition_ticket(s, SYSTEM, parent.id, "in_progress")
        return parent.id, child.id


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_checklist_and_children_hold_completion_until_done(
    page: Any, ui_server: Server, viewport: dict[str, int] | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    parent, _child = _parent_with_checklist(ui_server)
    login(page, ui_server.url, "konsultant")
    page.goto(f"{ui_server.url}/tickets/{parent}")
    card = page.locator("#checklist")
    assert "Lista kontrolna" in card.inner_text()
    assert "wymagane" in card.inner_text()
    assert "0 z 1 zakończonych" in page.locator("#children-progress").inner_text()
    assert "po terminie" in page.locator("#ticket-deadline").inner_text()
    assert "Kraków, ul. Długa 5" in page.locator("dl.fields").inner_text()
    _no_sideways_scroll(page)
    if viewport is None:
        screenshot(page, "ticket-checklist")
    else:
        screenshot(page, "ticket-checklist-phone")

    page.locator("button.to-completed").click()
    assert "odhacz wymagane pozycje" in page.locator("[role=alert]").inner_text()
    assert "Kopia bazy przed aktualizacją" in page.locator("[role=alert]").inner_text()

    page.goto(f"{ui_server.url}/tickets/{parent}")
    page.locator("#checklist li").first.locator("button.check").click()
    page.wait_for_url(f"**/tickets/{parent}#checklist")
    first = page.locator("#checklist li").first
    assert first.locator("button.check").get_attribute("aria-pressed") == "true"
    assert _user(ui_server, "konsultant").name in first.inner_text()
    assert "1/2" in page.locator("#checklist h2").inner_text()

    page.locator("button.to-completed").click()
    assert "zadania podrzędne są otwarte" in page.locator("[role=alert]").inner_text()

    page.goto(f"{ui_server.url}/tickets/{parent}")
    page.locator("label.force input").check()
    page.locator("button.to-completed").click()
    assert "podaj powód" in page.locator("[role=alert]").inner_text()

    page.goto(f"{ui_server.url}/tickets/{parent}")
    page.locator("label.force input").check()
    page.fill("input[name=note]", "Szkolenie przeniesione na styczeń")
    page.locator("button.to-completed").click()
    page.wait_for_url(f"**/tickets/{parent}")
    assert "Zakończony" in page.locator("#ticket-state").inner_text()
    timeline = page.locator(".timeline").inner_text()
    assert "zakończono mimo otwartych zadań podrzędnych" in timeline
    assert "Szkolenie przeniesione na styczeń" in timeline


@pytest.fixture
def month_of_time(ui_server: Server) -> Actor:
    """A consultant of its own (the server is shared by the package) with 2 hours this month."""
    now = dt.datetime.now(dt.UTC)
    suffix = uuid.uuid4().hex[:6]
    with ui_server.container.db.transaction() as s:
        user, _token = create_user(
            s, login=f"ewa-{suffix}", name=f"Ewa Łęcka {suffix}", role="consultant"
        )
        consultant = Actor(user.id, user.name, user.role)
        replace_rates(s, RatesIn(items=[RateIn(user_id=consultant.user_id, hourly_rate="150")]))
        task = services.create_ticket(s, consultant, TicketCreate(title="Konfiguracja płac"))
        services.add_time(s, consultant, task.id, 90, now - dt.timedelta(minutes=120), "analiza")
        services.add_time(s, consultant, task.id, 30, now - dt.timedelta(minutes=20), "", False)
    return consultant


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_time_report_page_for_a_curator(
    page: Any, ui_server: Server, month_of_time: Actor, viewport: dict[str, int] | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    login(page, ui_server.url, "kurator")
    link = page.locator("#main-nav a[href='/reports/time']")
    assert link.inner_text() == "Czas i koszty"
    if viewport:  # on a phone the page links fold behind the menu button
        page.click("#menu-toggle")
    link.click()
    page.wait_for_url("**/reports/time")
    assert page.locator("h1").inner_text() == "Czas i koszty"
    rows = page.locator(".time-table tbody tr")
    labels = rows.locator("th").all_inner_texts()
    assert month_of_time.name in labels
    row = rows.nth(labels.index(month_of_time.name)).inner_text()
    assert "225,00" in row  # 90 billable minutes at 150 zł; the 30 unbillable ones cost nothing
    assert "2,00" in row and "1,50" in row
    img = page.locator(".time-chart img")
    src = img.get_attribute("src") or ""
    svg = base64.b64decode(src.split(",", 1)[1]).decode("utf-8")
    assert "Czas według konsultanta [h]" in svg and "do rozliczenia" in svg
    _no_sideways_scroll(page)
    screenshot(page, "time-report" if viewport is None else "time-report-phone")
    href = page.locator("a[href*='format=csv']").get_attribute("href") or ""
    csv = page.request.get(f"{ui_server.url}{href}")
    assert csv.status == 200 and csv.body().startswith(b"\xef\xbb\xbf")
    assert month_of_time.name in csv.body().decode("utf-8-sig")

    page.select_option("select[name=group_by]", "module")
    page.locator(".time-filter button[type=submit]").click()
    page.wait_for_url("**group_by=module**")
    assert "(bez modułu)" in page.locator(".time-table").inner_text()

    page.fill("input[name=date_from]", "2026-12-31")
    page.fill("input[name=date_to]", "2026-01-01")
    page.locator(".time-filter button[type=submit]").click()
    assert "Pole „Do dnia”" in page.locator("[role=alert]").inner_text()


def test_a_consultant_has_no_report_link_and_is_refused_in_polish(
    page: Any, ui_server: Server
) -> None:
    login(page, ui_server.url, "konsultant")
    assert page.locator("#main-nav a[href='/reports/time']").count() == 0
    response = page.goto(f"{ui_server.url}/reports/time")
    assert response.status == 403
    assert "kuratorzy i administratorzy" in page.locator("[role=alert]").inner_text()
