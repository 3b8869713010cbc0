"""The console in Polish, walked in Chromium: no internal English word on any page (dictionary
values, reasons, history lines, attach reasons, errors), Polish counts, Polish error pages."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from intake.context import IntakeContext
from intake.ingest import ingest_mail
from tests.e2e.ui.conftest import PHONE, Server, login, no_sideways_scroll, screenshot, sized_tab
from tickets.core.schemas import SYSTEM, TicketCreate, TicketPatch
from tickets.core.services import create_ticket, update_ticket

# Words the domain stores that a Polish page must show in words, and English error texts.
ENGLISH = re.compile(
    r"\b(question|bug|feature|complaint|ham|phone event|solution|second_line_id|devops_linked|"
    r"devops_work_item_id|accepted from|queued|not found|Not Found|cannot move|ConnectError|"
    r"Errno|results)\b"
)


def _english_on(page: Any) -> list[str]:
    return sorted(set(ENGLISH.findall(page.locator("body").inner_text())))


@pytest.fixture(scope="module")
def changed_ticket(ui_server: Server) -> int:
    """A question whose type, module and solution were changed: history lines of each."""
    with ui_server.container.db.transaction() as s:
        ticket = create_ticket(
            s,
            SYSTEM,
            TicketCreate(title="Jak ustawić drukarkę fiskalną", type="question", module="Handel"),
        )
        update_ticket(
            s,
            SYSTEM,
            ticket.id,
            TicketPatch(type="bug", module="Kadry Płace", solution="Zmienić port na COM3."),
        )
        ticket_id = ticket.id
    ui_server.index()
    return ticket_id


def _queue_mail(server: Server) -> str:
    subject = f"Nie działa wysyłka JPK {uuid.uuid4().hex[:6]}"
    msg = EmailMessage()
    msg["From"] = f"Ewa Nowak <ewa.{uuid.uuid4().hex[:6]}@biuro-rachunkowe.pl>"
    msg["To"] = "pomoc@sedno.localhost"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{uuid.uuid4()}@example.pl>"
    msg.set_content("Dzień dobry,\nplik JPK_V7M jest odrzucany przez bramkę.\nEwa Nowak")
    ctx = IntakeContext(server.container.settings, blobs=server.container.blobs)
    with server.container.db.transaction() as s:
        ingest_mail(s, ctx, msg.as_bytes())
    return subject


def test_polish_pages_show_no_internal_english(
    page: Any, ui_server: Server, changed_ticket: int
) -> None:
    subject = _queue_mail(ui_server)
    login(page, ui_server.url, "admin.demo")
    found: dict[str, list[str]] = {}

    page.goto(f"{ui_server.url}/")
    page.locator("#q").fill("faktura")
    page.locator(".hit").first.wait_for()
    total = page.locator(".total").inner_text()
    # Answers when every ticket found is on the page (with the tickets they stand for when
    # copies are folded), else the tickets found.
    n = r"\d[\d\xa0 ]*"
    tickets = rf"{n} zgłosze(nie|nia|ń)"
    shape = rf"^({n} wynik(i|ów)?( \({tickets}\))?|{tickets}) · {n}(,\d)? ms$"
    assert re.match(shape, total), total
    facets = page.locator(".facets").inner_text()
    assert "Błąd" in facets or "Pytanie" in facets, facets
    found["/"] = _english_on(page)

    page.goto(f"{ui_server.url}/tickets/{changed_ticket}")
    timeline = page.locator(".timeline").inner_text()
    assert "Typ: Pytanie → Błąd" in timeline, timeline
    assert "Moduł: Handel → Kadry Płace" in timeline
    assert page.locator("dl.fields").inner_text().count("Błąd") == 1
    found["ticket"] = _english_on(page)

    page.goto(f"{ui_server.url}/queue")
    row = page.locator(".call", has_text=subject)
    assert "Powód: wiadomość od osoby" in row.inner_text()
    found["/queue"] = _english_on(page)
    row.locator("form.accept button[type=submit]").click()
    page.wait_for_url(re.compile(r"/queue\?accepted=\d+"))
    page.click("#accepted-number")
    assert "przyjęto z kolejki zgłoszeń (#" in page.locator(".timeline").inner_text()
    found["accepted"] = _english_on(page)
    screenshot(page, "ticket-polish")

    for path in ("/call", "/definitions", "/planner", "/todo", "/telephony/callbacks",
                 "/admin/stop-words", "/curation/week"):  # fmt: skip
        page.goto(f"{ui_server.url}{path}")
        found[path] = _english_on(page)
    assert {path: words for path, words in found.items() if words} == {}


def test_error_pages_speak_the_uis_language(browser: Any, ui_server: Server) -> None:
    with sized_tab(browser, PHONE) as tab:
        login(tab, ui_server.url)
        response = tab.goto(f"{ui_server.url}/tickets/99999")
        assert response is not None and response.status == 404
        assert "Nie znaleziono: zgłoszenie 99999." in tab.locator("main").inner_text()
        response = tab.goto(f"{ui_server.url}/no/such/page")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Nie ma takiej strony." in tab.locator("main").inner_text()
        assert tab.locator("nav").count() == 1  # the console's own page, with its top bar
        no_sideways_scroll(tab)
        screenshot(tab, "error-404-phone")
        tab.click("a.lang")
        assert "There is no such page." in tab.locator("main").inner_text()
        tab.goto(f"{ui_server.url}/tickets/99999")
        assert "Not found: ticket 99999." in tab.locator("main").inner_text()
        tab.click("a.lang")  # back to Polish for the other tests of this browser
    # The API and non-browser clients keep problem+json.
    api = httpx.get(f"{ui_server.url}/api/no-such-route", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    plain = httpx.get(f"{ui_server.url}/no/such/page")
    assert plain.headers["content-type"].startswith("application/problem+json")
