"""The search stop words page (issue 12 part 4) in headless Chromium: an administrator edits
the list, a saved word stops being highlighted, a consultant is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from search.ports import DEFAULT_STOP_WORDS
from search.stopwords import replace_stop_words, stop_words
from tests.e2e.ui.conftest import PHONE, Server, login, no_sideways_scroll, screenshot

QUERY = "rozrachunki automatycznie"
NEW_STOP_WORD = "automatycznie"


@pytest.fixture
def default_list_after(ui_server: Server) -> Iterator[None]:
    """The server is shared by the package: whatever a test saved, the default comes back."""
    yield
    with ui_server.container.db.transaction() as s:
        replace_stop_words(s, [])
    ui_server.index()


def _highlighted(page: Any, url: str) -> list[str]:
    """The words marked in the first hit of QUERY, typed into the search box."""
    page.goto(f"{url}/")
    page.locator("#q").fill(QUERY)
    hit = page.locator(".hit").first
    hit.wait_for()
    assert "Rozrachunki nie rozliczają się automatycznie" in hit.locator(".hit-title").inner_text()
    return [m.lower() for m in hit.locator("mark").all_inner_texts()]


def test_a_consultant_is_refused_in_polish(page: Any, ui_server: Server) -> None:
    login(page, ui_server.url, "konsultant")
    assert page.locator("#main-nav a[href='/admin/stop-words']").count() == 0
    response = page.goto(f"{ui_server.url}/admin/stop-words")
    assert response.status == 403
    assert "tylko administrator" in page.locator("[role=alert]").inner_text()
    token = page.locator("input[name=_csrf_token]").first.get_attribute("value") or ""
    for action, form in [
        ("/admin/stop-words", {"_csrf_token": token, "words": "faktura"}),
        ("/admin/stop-words/default", {"_csrf_token": token}),
    ]:
        refused = page.request.post(f"{ui_server.url}{action}", form=form)
        assert refused.status == 403, action
        assert "tylko administrator" in refused.text()
    with ui_server.container.db.read() as s:
        assert "faktura" not in stop_words(s)


def test_a_form_post_without_the_csrf_token_changes_nothing(
    page: Any, ui_server: Server, default_list_after: None
) -> None:
    login(page, ui_server.url, "admin.demo")
    refused = page.request.post(f"{ui_server.url}/admin/stop-words", form={"words": "faktura"})
    assert refused.status == 403
    with ui_server.container.db.read() as s:
        assert stop_words(s) == list(DEFAULT_STOP_WORDS)


def test_an_administrator_edits_the_list_and_the_word_is_no_longer_highlighted(
    page: Any, ui_server: Server, default_list_after: None
) -> None:
    login(page, ui_server.url, "admin.demo")
    assert NEW_STOP_WORD in _highlighted(page, ui_server.url)

    page.click("#main-nav a[href='/admin/stop-words']")
    page.wait_for_url(f"{ui_server.url}/admin/stop-words")
    assert page.locator("h1").inner_text() == "Słowa pomijane w wyszukiwaniu"
    assert page.locator("#stop-words-origin").get_attribute("data-default") == "yes"
    assert page.locator("#stop-words-origin").inner_text() == "Lista domyślna (polska)"
    assert page.locator("#stop-words-restore").count() == 0
    assert "się" in page.locator("textarea[name=words]").input_value().split("\n")

    # One word a line and comma-separated in one text; case and repeats do not matter.
    box = page.locator("textarea[name=words]")
    box.fill(box.input_value() + "\nAutomatycznie, automatycznie,  wyciąg")
    with page.expect_navigation():
        page.click("#stop-words-form button[type=submit]")
    assert page.url.endswith("/admin/stop-words?saved=list")
    assert "Zapisano listę" in page.locator(".flash.ok").inner_text()
    assert page.locator("#stop-words-origin").inner_text() == "Lista zmieniona przez administratora"
    assert page.locator("#stop-words-count").inner_text() == str(len(DEFAULT_STOP_WORDS) + 2)
    with ui_server.container.db.read() as s:
        saved = stop_words(s)
    assert {NEW_STOP_WORD, "wyciąg"} <= set(saved) and "się" in saved
    screenshot(page, "stop-words")

    ui_server.index()  # the outbox job that hands the list to the engine
    marked = _highlighted(page, ui_server.url)
    assert NEW_STOP_WORD not in marked and "rozrachunki" in marked, marked

    # A word longer than the engine takes: the page says which, nothing is saved.
    page.goto(f"{ui_server.url}/admin/stop-words")
    page.locator("textarea[name=words]").fill("faktura\n" + "x" * 41)
    with page.expect_navigation():
        page.click("#stop-words-form button[type=submit]")
    assert "Pole „Słowa”" in page.locator("#stop-words-problem").inner_text()
    assert page.locator("textarea[name=words]").input_value() == "faktura\n" + "x" * 41
    with ui_server.container.db.read() as s:
        assert stop_words(s) == saved

    page.goto(f"{ui_server.url}/admin/stop-words")
    with page.expect_navigation():
        page.click("#stop-words-restore button[type=submit]")
    assert page.url.endswith("?saved=default")
    assert page.locator("#stop-words-origin").get_attribute("data-default") == "yes"
    ui_server.index()
    assert NEW_STOP_WORD in _highlighted(page, ui_server.url)


def test_the_page_fits_a_phone(browser: Any, ui_server: Server) -> None:
    context = browser.new_context(viewport=PHONE, locale="pl-PL", timezone_id="Europe/Warsaw")
    context.set_default_timeout(10_000)
    phone = context.new_page()
    errors: list[str] = []
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login(phone, ui_server.url, "admin.demo")
        phone.goto(f"{ui_server.url}/admin/stop-words")
        assert re.search(r"\d+", phone.locator("#stop-words-count").inner_text())
        no_sideways_scroll(phone)
        screenshot(phone, "stop-words-phone")
        phone.goto(f"{ui_server.url}/lang/en?next=/admin/stop-words")
        assert phone.locator("h1").inner_text() == "Search stop words"
        no_sideways_scroll(phone)
    finally:
        context.close()
    assert errors == []
