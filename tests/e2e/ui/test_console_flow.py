"""Issue 17's promise in headless Chromium, against a real server with the DevOps stand-in
on (its own process) and a real SMTP server: a consultant goes from a phone call to a handed
off, answered and solved ticket without leaving the console or meeting an English word, at
1366×768 and on a 390×844 phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.ui.conftest import (
    PHONE,
    VIEWPORT,
    DeskWithProduction,
    Server,
    login,
    screenshot,
)
from tickets.core.orm import ClientRow, TicketRow, TimeEntryRow

SIZES = {"desktop": VIEWPORT, "phone": PHONE}
INTERNAL_NAMES = (
    "question", "bug", "feature", "complaint", "reported", "in_progress", "analysing",
    "completed", "cancelled", "resolved", "rejected", "ham", "spam", "phone event",
    "phone_event", "event", "task", "queued", "pending", "linked", "failed", "not found",
    "handoff", "outbox", "none", "null", "undefined", "true", "false", "new", "active",
    "closed", "removed", "state", "field", "keywords",
)  # fmt: skip
"""Names from the code, the API and Azure DevOps that must never reach the consultant."""
ENGLISH = re.compile(r"\b(?:" + "|".join(map(re.escape, INTERNAL_NAMES)) + r")\b", re.I)


def _looks_right(page: Any) -> None:
    """The page fits the screen's width and speaks no internal English."""
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide on a {inner}px screen"
    shown = page.evaluate("document.body.innerText")
    bad = [line for line in shown.splitlines() if ENGLISH.search(line)]
    assert bad == [], (page.url, bad)


def _fill_call(page: Any, url: str, size: str) -> None:
    page.goto(f"{url}/call")
    page.locator("[data-stopwatch]").filter(has_not_text="00:00").wait_for()  # it runs
    page.fill("#client-q", "100203")
    page.locator(".client-option").first.wait_for()
    page.locator("#client-q").press("ArrowDown")
    page.keyboard.press("Enter")
    assert "Hurtownia Ćma" in page.locator("#client-chosen").inner_text()
    page.fill("input[name=contact_name]", "Ola Ćma")
    page.fill("input[name=contact_email]", f"ola.{size}@hurtownia-cma.example.pl")
    page.fill("#title", f"Stopka faktury ucięta na wydruku ({size})")
    page.fill("#description", "Po aktualizacji stopka faktury nie mieści się na stronie.")
    page.select_option("select[name=product]", "enova365")
    page.select_option("select[name=module]", "Handel")
    page.fill("input[name=version]", "2604.1")
    page.select_option("select[name=type]", "bug")
    page.fill("input[name=keywords]", "wydruk, faktura")


def _logged_in(
    page: Any, production_desk: DeskWithProduction, size: str, user: str = "konsultant"
) -> tuple[Server, str]:
    """The tab at the size, logged in to the desk as `user`: (the desk, its URL)."""
    page.set_viewport_size(SIZES[size])
    login(page, production_desk.desk.url, user)
    return production_desk.desk, production_desk.desk.url


def _id(page: Any) -> int:
    return int(page.url.split("?")[0].split("#")[0].rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize("size", list(SIZES))
def test_from_a_phone_call_to_a_solved_ticket_found_by_search(
    page: Any, production_desk: DeskWithProduction, size: str
) -> None:
    desk, url = _logged_in(page, production_desk, size)
    _looks_right(page)

    # The call: a client picked with the keyboard from a licence typed without its prefix.
    _fill_call(page, url, size)
    # Keywords come from the dictionary: typing offers its words, a word outside it is refused.
    page.fill("input[name=keywords]", "")
    page.locator("input[name=keywords]").press_sequentially("wydr")
    offered = page.locator("#keyword-dictionary option").evaluate_all("os => os.map(o => o.value)")
    assert "wydruk" in offered and all("wydr" in o.casefold() for o in offered), offered
    page.fill("input[name=keywords]", "wydruk, stopka")
    _looks_right(page)
    screenshot(page, f"flow-call-{size}")
    # Refused before it is sent, naming the word: the call's form stays as it was.
    page.click("button[type=submit].primary")
    message = page.locator("input[name=keywords]").evaluate("i => i.validationMessage")
    assert message.startswith("Spoza słownika") and "stopka" in message and "wydruk" not in message
    assert page.url.endswith("/call") and page.locator("#title").input_value().startswith("Stopka")
    # The server refuses it too (a browser without script), naming the field in Polish.
    # Wait for the refusal page itself: the form's own page is loaded already, so a bare
    # wait_for_load_state() could return before the navigation starts.
    with page.expect_navigation():
        page.evaluate("document.querySelector('#call-form').submit()")
    assert "Słowa kluczowe" in page.locator("main").inner_text()
    _looks_right(page)
    _fill_call(page, url, size)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/call/*")
    event_id = _id(page)
    _looks_right(page)

    # The call ends as a task; the closing note carries over.
    note = "Szablon wydruku do sprawdzenia przez produkcję."
    page.fill(".close-form textarea[name=solution]", note)
    page.click(".close-form button[value=task]")
    page.wait_for_url("**/tickets/*")
    task_id = _id(page)
    assert task_id != event_id and note in page.locator("#ticket-notes").inner_text()
    number = page.locator(".ticket-head .number").inner_text()
    _looks_right(page)

    # The stopwatch on the task: started and stopped, the time is the task's.
    page.click("form[action$='/timer'] button[value=start]")
    page.locator("form[action$='/timer'] button[value=stop]").wait_for()
    page.click("form[action$='/timer'] button[value=stop]")
    page.locator("form[action$='/timer'] button[value=start]").wait_for()
    with desk.container.db.read() as s:
        query = select(TimeEntryRow.stopped_at).where(TimeEntryRow.ticket_id == task_id)
        stopped = list(s.scalars(query))
    assert stopped and None not in stopped

    # Analysis, then the handoff: the work item appears as a link to the stand-in.
    page.click(".transition-form button.to-analysing")
    page.wait_for_url(f"**/tickets/{task_id}**")
    page.click("#handoff-card button.handoff")
    page.wait_for_url(f"**/tickets/{task_id}**")
    desk.index()  # the outbox creates the work item on the stand-in
    page.reload()
    link = page.locator("#handoff-card a.work-item-link")
    assert link.get_attribute("href").startswith(production_desk.standin_url)  # type: ignore[union-attr]
    work_item = int(link.inner_text().lstrip("#"))
    _looks_right(page)
    screenshot(page, f"flow-handoff-{size}")

    # Production resolves the work item; its service hook brings the ticket back.
    production_desk.resolve(work_item)
    page.reload()
    assert "Produkcja zakończyła" in page.locator(".timeline").inner_text()
    _looks_right(page)

    # The reply reaches the customer's mailbox with the number in the subject.
    page.fill(".reply-form textarea[name=text]", "Dzień dobry, poprawka szablonu jest gotowa.")
    page.click(".reply-form button[type=submit]")
    page.wait_for_url("**notice=reply_sent**")
    desk.index()
    address = f"ola.{size}@hurtownia-cma.example.pl"
    mails = [m for m in production_desk.smtp.messages if address in m.rcpt_tos]
    (reply,) = [
        m for m in mails if "poprawka szablonu" in m.message.get_body(("plain",)).get_content()
    ]
    assert str(reply.message["Subject"]).startswith(f"[{number}]")
    _looks_right(page)

    # The solution, and the task completed as solved.
    solution = "Produkcja poprawiła szablon wydruku faktury; stopka mieści się na stronie."
    page.select_option(".transition-form select[name=resolution]", "resolved")
    page.fill(".transition-form textarea[name=solution]", solution)
    page.click(".transition-form button.to-completed")
    page.wait_for_url(f"**/tickets/{task_id}**")
    assert page.locator("#ticket-state").inner_text().startswith("Zakończ")
    _looks_right(page)
    screenshot(page, f"flow-solved-{size}")

    # Search finds it as a solution.
    desk.index()
    page.goto(f"{url}/?q=stopka+faktury+ucięta+{size}")
    hit = page.locator(f"#hit-{task_id}")
    assert solution in hit.locator(".solution").inner_text()
    _looks_right(page)


KEY_PAGES = ("search", "call", "ticket", "queue", "client-card", "curation-queue")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_key_pages_fit_and_speak_polish_for_the_readme(
    page: Any, production_desk: DeskWithProduction, size: str
) -> None:
    """The README's screenshots, at both sizes, of pages a curator (who also takes calls) sees."""
    desk, url = _logged_in(page, production_desk, size, "kurator")
    with desk.container.db.read() as s:
        handed_off = s.scalar(
            select(TicketRow.id).where(TicketRow.devops_work_item_id.is_not(None))
        )
        client_id = s.scalar(select(ClientRow.id).where(ClientRow.name.like("Hurtownia%")))
    pages = {
        "search": "/?q=faktura",
        "call": "/call",
        "ticket": f"/tickets/{handed_off}",
        "queue": "/queue",
        "client-card": f"/clients/{client_id}",
        "curation-queue": "/curation/queue",
    }
    assert tuple(pages) == KEY_PAGES
    for name, path in pages.items():
        page.goto(f"{url}{path}")
        page.wait_for_load_state("networkidle")
        _looks_right(page)
        screenshot(page, f"console-{name}-{size}")
