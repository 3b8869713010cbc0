"""Answering an assignment in headless Chromium (Polish): the assignee's two buttons on the
ticket page, and the page a signed link of the assignment mail opens without login."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.e2e.ui.conftest import PHONE, Server, login, no_sideways_scroll
from tickets.assignments import links
from tickets.core.assignments import current_assignment
from tickets.core.orm import UserRow
from tickets.core.schemas import Actor, TicketCreate
from tickets.core.services import create_ticket, utcnow


def _assigned_to_konsultant(server: Server, title: str) -> int:
    """The demo administrator gives the demo consultant a ticket."""
    with server.container.db.transaction() as s:
        admin = s.scalar(select(UserRow).where(UserRow.login == "admin.demo"))
        anna = s.scalar(select(UserRow).where(UserRow.login == "konsultant"))
        assert admin is not None and anna is not None
        actor = Actor(admin.id, admin.name, "admin")
        return create_ticket(s, actor, TicketCreate(title=title, lead_consultant_id=anna.id)).id


def test_the_assignee_rejects_with_a_reason_and_confirms_from_the_ticket_page(
    page: Any, ui_server: Server
) -> None:
    rejected = _assigned_to_konsultant(ui_server, "Korekta listy płac za listopad")
    confirmed = _assigned_to_konsultant(ui_server, "Import wyciągu bankowego")
    login(page, ui_server.url, "konsultant")
    page.goto(f"{ui_server.url}/tickets/{rejected}")
    state = page.locator("#assignment-state")
    assert state.inner_text() == "Oczekuje na potwierdzenie"
    assert page.locator("#assignment-confirm").inner_text() == "Potwierdzam"
    page.fill("#ticket-assignment input[name=reason]", "To moduł Kadry, nie mój")
    page.click("#assignment-reject")
    page.wait_for_url(f"{ui_server.url}/tickets/{rejected}")
    assert state.inner_text() == "Odrzucone: To moduł Kadry, nie mój"
    assert page.locator("#assignment-confirm").count() == 0  # answered: no buttons
    assert "wróciło do kolejki" in page.locator(".timeline").inner_text()

    page.goto(f"{ui_server.url}/tickets/{confirmed}")
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    page.click("#assignment-confirm")
    page.wait_for_url(f"{ui_server.url}/tickets/{confirmed}")
    assert page.locator("#assignment-state").inner_text() == "Potwierdzone"
    assert page.locator("#assignment-reject").count() == 0


def test_someone_else_sees_the_state_but_no_buttons(page: Any, ui_server: Server) -> None:
    ticket_id = _assigned_to_konsultant(ui_server, "Drukarka fiskalna nie odpowiada")
    login(page, ui_server.url, "admin.demo")
    page.goto(f"{ui_server.url}/tickets/{ticket_id}")
    assert page.locator("#assignment-state").inner_text() == "Oczekuje na potwierdzenie"
    assert page.locator("#assignment-confirm").count() == 0


def test_the_reject_link_asks_a_reason_without_login(page: Any, ui_server: Server) -> None:
    ticket_id = _assigned_to_konsultant(ui_server, "Błąd eksportu JPK")
    with ui_server.container.db.read() as s:
        assignment = current_assignment(s, ticket_id)
        assert assignment is not None
        assignment_id = assignment.id
    secret = ui_server.container.settings.secret_key
    url = links.answer_url(ui_server.url, secret, assignment_id, "rejected", utcnow())
    page.set_viewport_size(PHONE)
    page.goto(url)
    assert "Możesz podać powód" in page.locator("#assignment-answer").inner_text()
    no_sideways_scroll(page)
    page.fill("#assignment-answer textarea[name=reason]", "Jestem na szkoleniu cały tydzień")
    page.click("#assignment-reject-send")
    page.locator("#assignment-done").wait_for()
    assert "jest odrzucony" in page.locator("#assignment-done").inner_text()
    with ui_server.container.db.read() as s:
        answered = current_assignment(s, ticket_id)
        assert answered is not None and answered.reason == "Jestem na szkoleniu cały tydzień"
    forged = page.goto(url.replace("d=rejected", "d=confirmed"))
    assert forged.status == 403
    assert "nieprawidłowy" in page.locator("[role=alert]").inner_text()
