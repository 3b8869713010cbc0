"""Notifications, the opt-out page, consulting the second line, the protocol button and the
project page in headless Chromium (1366×768 and 390×844, Polish)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.e2e.ui.conftest import Server, login, screenshot
from tickets.core.orm import UserRow
from tickets.core.schemas import Actor, TicketCreate
from tickets.core.services import create_ticket
from tickets.notices import optout
from tickets.notices.orm import NoticeRow
from tickets.projects.service import CampaignIn, ProjectIn, create_campaign, create_project

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _user(server: Server, login_name: str) -> UserRow:
    with server.container.db.read() as s:
        user = s.scalar(select(UserRow).where(UserRow.login == login_name))
        assert user is not None
        s.expunge(user)
        return user


def _ticket(server: Server, **fields: Any) -> int:
    admin = _user(server, "admin.demo")
    with server.container.db.transaction() as s:
        row = create_ticket(s, Actor(admin.id, admin.name, "admin"), TicketCreate(**fields))
        return row.id


def _unread(server: Server, user_id: int) -> int:
    with server.container.db.read() as s:
        return len(list(s.scalars(select(NoticeRow.id).where(
            NoticeRow.user_id == user_id, NoticeRow.read_at.is_(None)))))  # fmt: skip


def test_the_bell_counts_an_assignment_and_the_notice_is_marked_read(
    page: Any, ui_server: Server
) -> None:
    anna = _user(ui_server, "konsultant")
    before = _unread(ui_server, anna.id)
    ticket_id = _ticket(ui_server, title="Przydział z kolejki: KSeF", lead_consultant_id=anna.id)
    login(page, ui_server.url, "konsultant")
    bell = page.locator("#bell-count")
    bell.wait_for(state="visible")
    assert bell.inner_text() == str(before + 1)
    page.click("#bell")
    page.wait_for_url(f"{ui_server.url}/notifications")
    first = page.locator(".notice.unread").first
    assert "Przydzielenie" in first.inner_text()
    assert first.locator(f"a[href='/tickets/{ticket_id}']").count() == 1
    screenshot(page, "notices")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    page.click("#notices-read-all")
    page.wait_for_url(f"{ui_server.url}/notifications")
    assert page.locator("#notices-unread").inner_text() == "0"
    assert _unread(ui_server, anna.id) == 0


def test_an_administrator_edits_the_matrix_a_consultant_is_refused(
    page: Any, ui_server: Server
) -> None:
    login(page, ui_server.url, "konsultant")
    response = page.goto(f"{ui_server.url}/admin/notifications")
    assert response.status == 403
    assert "administrator" in page.locator("[role=alert], main").first.inner_text()
    page.click("form[action='/logout'] button")
    login(page, ui_server.url, "admin.demo")
    page.click("#main-nav a[href='/admin/notifications']")
    box = page.locator("input[name='c:reply:lead:notice']")
    assert box.is_checked()
    assert "Osoba kontaktowa" in page.locator("#rules-specific").inner_text()  # ZS states
    box.uncheck()
    page.click("#rules-form button[type=submit]")
    page.wait_for_url(f"{ui_server.url}/admin/notifications?saved=1")
    assert "Zapisano reguły" in page.locator("[role=status]").inner_text()
    assert not page.locator("input[name='c:reply:lead:notice']").is_checked()
    assert "Osoba kontaktowa" in page.locator("#rules-specific").inner_text()  # kept
    screenshot(page, "notice-rules")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
    page.locator("input[name='c:reply:lead:notice']").check()
    page.click("#rules-form button[type=submit]")
    page.wait_for_url(f"{ui_server.url}/admin/notifications?saved=1")


def test_the_opt_out_link_works_without_login_and_refuses_a_forged_one(
    page: Any, ui_server: Server
) -> None:
    settings = ui_server.container.settings
    link = optout.opt_out_url(ui_server.url, settings.secret_key, "Jan.Nowak@Klient.pl")
    page.set_viewport_size(PHONE)
    page.goto(link)
    assert "jan.nowak@klient.pl" in page.locator("#opt-out").inner_text()
    _no_sideways_scroll(page)
    page.click("#opt-out-button")
    page.locator("#opt-out-done").wait_for()
    assert "Wypisano" in page.locator("#opt-out-done").inner_text()
    with ui_server.container.db.read() as s:
        assert optout.opted_out(s, "jan.nowak@klient.pl")
    screenshot(page, "opt-out-phone")
    forged = page.goto(f"{ui_server.url}/notifications/opt-out?a=inny@klient.pl&s=abc")
    assert forged.status == 403
    assert "nieprawidłowy" in page.locator("[role=alert]").inner_text()


def test_the_ticket_page_consults_the_second_line_and_prints_the_protocol(
    page: Any, ui_server: Server
) -> None:
    ticket_id = _ticket(ui_server, title="Naliczanie składek ZUS", module="Kadry Płace")
    login(page, ui_server.url, "konsultant")
    page.goto(f"{ui_server.url}/tickets/{ticket_id}")
    assert page.locator("#ticket-second-line").inner_text() == "—"
    page.click("#consult summary")
    page.fill("#consult textarea", "Czy podstawa składki obejmuje premię?")
    page.click("#consult button[type=submit]")
    page.wait_for_url(f"{ui_server.url}/tickets/{ticket_id}")
    assert page.locator("#ticket-second-line").inner_text() == "Ewa Produkcja"
    assert "Czy podstawa składki obejmuje premię?" in page.locator(".timeline").inner_text()
    link = page.locator("#print-protocol")
    assert link.inner_text() == "Drukuj protokół"
    # The first protocol of a process loads WeasyPrint and its fonts: slow on a busy machine.
    pdf = page.request.get(f"{ui_server.url}{link.get_attribute('href')}", timeout=90_000)
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)


def test_the_project_page_lists_its_tasks_and_events(page: Any, ui_server: Server) -> None:
    with ui_server.container.db.transaction() as s:
        campaign = create_campaign(s, CampaignIn(name="Wdrożenia kadr 2027"))
        project = create_project(s, ProjectIn(campaign_id=campaign.id, name="Łódzkie Zakłady",
                                              kind="external", module="Kadry Płace"))  # fmt: skip
    _ticket(ui_server, title="Migracja list płac", project_id=project.id)
    _ticket(ui_server, definition="ZT", title="Telefon w sprawie wdrożenia", project_id=project.id)
    login(page, ui_server.url, "konsultant")
    page.click("#main-nav a[href='/projects']")
    page.click(f"a[href='/projects/{project.id}']")
    assert "Łódzkie Zakłady" in page.locator("h1").inner_text()
    assert "zewnętrzny" in page.locator("#project").inner_text()
    assert "Migracja list płac" in page.locator("#project-tasks").inner_text()
    assert "Telefon w sprawie wdrożenia" in page.locator("#project-events").inner_text()
    assert page.locator("#project-open").inner_text() == "1 / 1"
    screenshot(page, "project")
    page.set_viewport_size(PHONE)
    _no_sideways_scroll(page)
