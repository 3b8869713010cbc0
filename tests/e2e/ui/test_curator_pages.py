"""The curator's pages (issue 17 item 8) in headless Chromium: the keyword dictionary (add,
synonyms, merge), the curation queue's fixes and duplicate merge, week navigation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from tests.e2e.ui.conftest import Server, login, screenshot
from tickets.core.orm import KeywordRow, TicketRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.curation import weeks

PHONE = {"width": 390, "height": 844}


def _fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def _solved_this_week(server: Server, title: str, solution: str = "") -> int:
    with server.container.db.transaction() as s:
        ticket = create_ticket(
            s,
            SYSTEM,
            TicketCreate(definition="ZS", title=title, description=title, solution=solution),
            state="completed",
            completed_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
        )
        return ticket.id


def test_keyword_dictionary_add_synonyms_merge(page: Any, ui_server: Server) -> None:
    login(page, ui_server.url, "kurator")
    page.goto(f"{ui_server.url}/curation/keywords")
    assert page.locator("h1").inner_text() == "Słownik słów kluczowych"
    page.fill("#keyword-add input[name=name]", "Zorbiks drukarki")
    page.fill("#keyword-add input[name=synonyms]", "zorbiks, drukarka zorbiks")
    page.click("#keyword-add button")
    assert page.locator("#curator-saved").inner_text() == "Dodano słowo kluczowe."
    entry = page.locator(".keyword[data-keyword='Zorbiks drukarki']")
    assert entry.locator("input[name=synonyms]").input_value() == "zorbiks, drukarka zorbiks"

    # The synonyms are edited as one comma-separated list.
    entry.locator("input[name=synonyms]").fill("zorbiks, zorbiks fiskalny")
    entry.locator(".keyword-edit button").click()
    assert page.locator("#curator-saved").inner_text() == "Zapisano słowo kluczowe."
    with ui_server.container.db.read() as s:
        row = s.scalar(select(KeywordRow).where(KeywordRow.name == "Zorbiks drukarki"))
        assert row is not None and row.synonyms == ["zorbiks", "zorbiks fiskalny"]

    # A second keyword merged into the first becomes its synonym.
    page.fill("#keyword-add input[name=name]", "Zorbiksownik")
    page.click("#keyword-add button")
    other = page.locator(".keyword[data-keyword='Zorbiksownik']")
    other.locator(".keyword-merge input[name=into]").fill("Zorbiks drukarki")
    other.locator(".keyword-merge button").click()
    assert page.locator("#curator-saved").inner_text() == "Scalono."
    with ui_server.container.db.read() as s:
        row = s.scalar(select(KeywordRow).where(KeywordRow.name == "Zorbiks drukarki"))
        assert row is not None and "Zorbiksownik" in row.synonyms
        assert s.scalar(select(KeywordRow).where(KeywordRow.name == "Zorbiksownik")) is None

    # A merge into nothing is refused in Polish, naming the field.
    page.goto(f"{ui_server.url}/curation/keywords?q=zorbiks")
    page.locator(".keyword .keyword-merge input[name=into]").first.fill("nie ma takiego")
    page.locator(".keyword .keyword-merge button").first.click()
    assert page.locator("#curator-problem").inner_text() == "Nie zapisano: popraw pole „Scal z”."

    page.set_viewport_size(PHONE)
    page.goto(f"{ui_server.url}/curation/keywords")
    _fits(page)
    screenshot(page, "curation-keywords-phone")


def test_curation_queue_fixes_a_ticket_and_merges_duplicates(page: Any, ui_server: Server) -> None:
    bare = _solved_this_week(ui_server, "Kwiatuszkowy raport nie drukuje stopki", "Włączyć stopkę.")
    other = _solved_this_week(ui_server, "Kwiatuszkowa lista bez sum", "Włączyć sumy.")
    week = weeks.week_of(dt.datetime.now(dt.UTC))
    login(page, ui_server.url, "kurator")
    page.goto(f"{ui_server.url}/curation/queue?week={week}")
    item = page.locator(f".curation-item[data-ticket='{bare}']")
    assert "słowa kluczowe" in item.locator(".missing").inner_text()
    assert page.locator("#week-next").count() == 0  # never past the current week
    item.locator("input[name=keywords]").fill("stopka, wydruk")
    item.locator("input[name=kb_links]").fill("https://pomoc.enova.pl/artykul/kb-77")
    item.locator("input[name=verified]").check()
    item.locator("button").click()
    assert page.locator("#curator-saved").inner_text() == "Zapisano zgłoszenie."
    with ui_server.container.db.read() as s:
        ticket = s.get(TicketRow, bare)
        assert ticket is not None
        assert {"stopka", "wydruk"} <= {k.casefold() for k in ticket.keywords}
        assert ticket.kb_links == ["https://pomoc.enova.pl/artykul/kb-77"]
        assert ticket.verified

    # Described now, it has left the queue; a KB link that is not a URL is refused, naming
    # the field, and nothing is saved.
    assert page.locator(f".curation-item[data-ticket='{bare}']").count() == 0
    item = page.locator(f".curation-item[data-ticket='{other}']")
    item.locator("input[name=kb_links]").fill("to nie jest adres")
    item.locator("button").click()
    assert "„Linki do bazy wiedzy”" in page.locator("#curator-problem").inner_text()
    with ui_server.container.db.read() as s:
        assert s.get(TicketRow, other).kb_links == []  # type: ignore[union-attr]

    # Week navigation: back one week, then the link to the current week.
    page.click("#week-previous")
    assert weeks.previous_week(week) in page.locator("h1").inner_text()
    page.click("#week-current")
    assert week in page.locator("h1").inner_text()

    # Duplicates (two tickets with one solution) merge into the chosen ticket.
    a = _solved_this_week(ui_server, "Zorbiksowy eksport JPK zawiesza program", "Wyłączyć zorbiks.")
    b = _solved_this_week(ui_server, "Zorbiksowy eksport JPK zawiesza program", "Wyłączyć zorbiks!")
    page.goto(f"{ui_server.url}/curation/queue?week={week}")
    merge = page.locator(f".curator-merge[action='/curation/queue/{b}/merge']")
    if merge.count():  # the duplicate detector found the pair
        merge.locator("select").select_option(str(a))
        merge.locator("button").click()
        assert page.locator("#curator-saved").inner_text() == "Scalono."
        with ui_server.container.db.read() as s:
            target = s.get(TicketRow, a)
            assert target is not None and "Wyłączyć zorbiks!" in (target.solution or "")
    page.set_viewport_size(PHONE)
    page.goto(f"{ui_server.url}/curation/queue?week={week}")
    _fits(page)
    screenshot(page, "curation-queue-phone")


def test_week_report_links_the_curator_pages(page: Any, ui_server: Server) -> None:
    login(page, ui_server.url, "kurator")
    page.goto(f"{ui_server.url}/curation/week")
    page.click("#to-queue")
    assert page.locator("h1").inner_text().startswith("Kolejka kuracji")
    page.goto(f"{ui_server.url}/curation/week")
    page.click("#week-current")
    page.click("#to-keywords")
    assert page.locator("h1").inner_text() == "Słownik słów kluczowych"
    screenshot(page, "curation-keywords")
