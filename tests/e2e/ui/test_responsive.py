"""Every page of the console on a phone (360, 390 and 414 px wide) and on a desktop: nothing
scrolls sideways, the side cards stack under the content, the queue's "Przyjmij" and the call
form's stopwatch are on the screen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
from typing import Any

import pytest

from tests.e2e.ui.conftest import (
    PHONE,
    VIEWPORT,
    Server,
    login,
    no_sideways_scroll,
    screenshot,
    sized_tab,
)
from tickets.core.schemas import SYSTEM, PhoneEventCreate, TicketCreate
from tickets.core.services import create_ticket, register_phone_event

LONG_WORD = "Zażółćgęśląjaźń" * 8  # a pasted path or token: one word wider than a phone


class Seeded:
    def __init__(self, ticket_id: int, event_id: int, call_id: int | None) -> None:
        self.ticket_id, self.event_id, self.call_id = ticket_id, event_id, call_id


@pytest.fixture(scope="module")
def seeded(ui_server: Server) -> Seeded:
    """A ticket with long text, an open phone event and (with intake) a pending mail."""
    with ui_server.container.db.transaction() as s:
        ticket = create_ticket(
            s,
            SYSTEM,
            TicketCreate(
                title=f"Wydruk faktury ucina kolumnę {LONG_WORD}",
                description=f"Ścieżka: C:\\Program Files\\enova365\\{LONG_WORD}\\wydruki.xml",
                product="enova365",
                module="Handel",
                keywords=["wydruk", "faktura"],
                kb_links=[f"https://pomoc.example.pl/{LONG_WORD}/wydruki"],
            ),
        )
        event = register_phone_event(
            s,
            SYSTEM,
            PhoneEventCreate(title="Klient pyta o korektę faktury", licence="EN-100203"),
        )
        ticket_id, event_id = ticket.id, event.id
    ui_server.index()
    return Seeded(ticket_id, event_id, _pending_mail(ui_server))


def _pending_mail(server: Server) -> int | None:
    try:
        from intake.context import IntakeContext
        from intake.ingest import ingest_mail
    except ImportError:
        return None
    msg = EmailMessage()
    msg["From"] = f"Ewa Nowak <ewa.{uuid.uuid4().hex[:6]}@biuro-rachunkowe.pl>"
    msg["To"] = "pomoc@sedno.localhost"
    msg["Subject"] = f"Nie działa wysyłka JPK_V7M, błąd podpisu {LONG_WORD}"
    msg["Message-ID"] = f"<{uuid.uuid4()}@example.pl>"
    msg.set_content("Dzień dobry,\nplik JPK jest odrzucany przez bramkę.\nEwa Nowak")
    ctx = IntakeContext(server.container.settings, blobs=server.container.blobs)
    with server.container.db.transaction() as s:
        return int(ingest_mail(s, ctx, msg.as_bytes()).call_id)


def _pages(seeded: Seeded) -> list[str]:
    return [
        "/",
        "/?q=faktura",
        "/call",
        f"/call/{seeded.event_id}",
        "/queue",
        "/queue?state=dropped",
        f"/tickets/{seeded.ticket_id}",
        "/definitions",
        "/planner",
        "/todo",
        "/telephony/callbacks",
        "/admin/stop-words",
        "/admin/devops",
        "/curation/week",
        "/tickets/99999999",  # the error page
        "/no-such-page",
    ]


@pytest.fixture(scope="module")
def admin_state(browser: Any, ui_server: Server) -> Any:
    """The administrator's cookies, logged in once (every page is theirs to see)."""
    context = browser.new_context(viewport=VIEWPORT, locale="pl-PL")
    tab = context.new_page()
    login(tab, ui_server.url, "admin.demo")
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def screen(request: Any, browser: Any, admin_state: Any) -> Iterator[Any]:
    width, height = request.param
    with sized_tab(browser, {"width": width, "height": height}, storage_state=admin_state) as tab:
        yield tab


SCREENS = [(360, 740), (PHONE["width"], PHONE["height"]), (414, 896)]
"""Three phones; the desktop is VIEWPORT."""


@pytest.fixture
def every_screen(browser: Any, admin_state: Any) -> Iterator[list[Any]]:
    """A tab at each phone size and one at the desktop's."""
    sizes = [*SCREENS, (VIEWPORT["width"], VIEWPORT["height"])]
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                sized_tab(browser, {"width": w, "height": h}, storage_state=admin_state)
            )
            for w, h in sizes
        ]


def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(
    every_screen: list[Any], ui_server: Server, seeded: Seeded
) -> None:
    """Each page is loaded at every size, in one tab per size. The tabs load it side by side
    and each waits for its network to be idle (the late fragments have landed, 500 ms without
    a request) before its width is measured, so the four waits overlap instead of adding up."""
    wide: list[str] = []
    for path in _pages(seeded):
        for tab in every_screen:
            tab.goto(f"{ui_server.url}{path}", wait_until="commit")
        for tab in every_screen:
            tab.wait_for_load_state("networkidle")
            try:
                no_sideways_scroll(tab)
            except AssertionError as exc:
                wide.append(str(exc))
    assert wide == []


def _boxes(page: Any, *selectors: str) -> list[dict[str, float]]:
    """The boxes of the first element of each selector, taken in one moment once fonts and
    layout have settled: two separate `bounding_box` calls can straddle a reflow (a box that
    moved between them once put two cards of one grid row 8 px apart)."""
    boxes: list[dict[str, float]] = page.evaluate(
        """async (selectors) => {
            await document.fonts.ready;
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
            return selectors.map(sel => {
                const r = document.querySelector(sel).getBoundingClientRect();
                return {x: r.x, y: r.y, width: r.width, height: r.height};
            });
        }""",
        list(selectors),
    )
    return boxes


def _inside_screen(page: Any, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box, width)


@pytest.mark.parametrize("screen", [(PHONE["width"], PHONE["height"])], indirect=True)
def test_on_a_phone_side_cards_stack_and_actions_fit(
    screen: Any, ui_server: Server, seeded: Seeded
) -> None:
    screen.goto(f"{ui_server.url}/tickets/{seeded.ticket_id}")
    content, side = _boxes(screen, ".ticket-layout > div", ".ticket-side")
    assert side["y"] >= content["y"] + content["height"] - 1, "side cards cover the fields"
    assert side["width"] >= content["width"] - 1
    screenshot(screen, "ticket-phone")

    screen.goto(f"{ui_server.url}/call")
    _inside_screen(screen, ".stopwatch")
    _inside_screen(screen, "#title")
    screenshot(screen, "call-new-phone")
    screen.goto(f"{ui_server.url}/call/{seeded.event_id}")
    _inside_screen(screen, ".stopwatch")

    if seeded.call_id is not None:
        screen.goto(f"{ui_server.url}/queue")
        row = f"#call-{seeded.call_id}"
        _inside_screen(screen, f"{row} form.accept button[type=submit]")
        screenshot(screen, "queue-phone")

    screen.goto(f"{ui_server.url}/?q=faktura")
    screen.locator(".hit").first.wait_for()
    hits = screen.locator("ol.hits").bounding_box()
    assert hits is not None
    assert hits["x"] + hits["width"] <= PHONE["width"]
    # The filters are folded under "Filtry": the first hit is on the first screen, and a tap
    # opens them; the next keystroke's list keeps them open.
    assert hits["y"] < PHONE["height"] / 2, hits
    assert not screen.locator(".facets button.facet").first.is_visible()
    screen.click(".facet-lists > summary")
    screen.locator(".facets button.facet").first.wait_for()
    screen.locator("#q").press("End")
    screen.locator("#q").press_sequentially(" ksef", delay=30)
    screen.wait_for_function(
        """() => location.search.includes('ksef')
            && document.querySelector('.facet-lists').open
            && document.querySelector('.facets button.facet') !== null"""
    )
    assert screen.locator(".facets").bounding_box() is not None
    screenshot(screen, "search-phone")


@pytest.mark.parametrize("screen", [(PHONE["width"], PHONE["height"])], indirect=True)
def test_on_a_phone_the_page_links_fold_behind_the_menu_button(
    screen: Any, ui_server: Server
) -> None:
    # Unfolded, the eleven links of an administrator took three more rows of the top bar
    # (190 px of 844) and pushed the search box to a quarter of the screen.
    screen.goto(f"{ui_server.url}/")
    toggle = screen.locator("#menu-toggle")
    assert toggle.inner_text() == "Menu" and toggle.get_attribute("aria-expanded") == "false"
    assert not screen.locator("#main-nav").is_visible()
    header, search = _boxes(screen, "header.topbar", "#q")
    assert header["height"] <= 120, header
    assert search["y"] + search["height"] <= PHONE["height"] / 5, search
    screenshot(screen, "menu-closed-phone")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert screen.locator("#main-nav a").count() >= 10
    no_sideways_scroll(screen)
    screenshot(screen, "menu-open-phone")
    screen.locator("#main-nav a[href='/queue']").click()
    screen.wait_for_url("**/queue")
    assert not screen.locator("#main-nav").is_visible()  # a new page starts folded


@pytest.mark.parametrize("screen", [(VIEWPORT["width"], VIEWPORT["height"])], indirect=True)
def test_on_a_desktop_the_side_cards_sit_beside_the_content(
    screen: Any, ui_server: Server, seeded: Seeded
) -> None:
    screen.goto(f"{ui_server.url}/tickets/{seeded.ticket_id}")
    content, side = _boxes(screen, ".ticket-layout > div", ".ticket-side")
    assert side["x"] >= content["x"] + content["width"], "the side cards should be a column"
    # The page links stay in the top bar; there is no menu button to press.
    assert screen.locator("#main-nav").is_visible()
    assert not screen.locator("#menu-toggle").is_visible()
    assert abs(side["y"] - content["y"]) < 2

    screen.goto(f"{ui_server.url}/?q=faktura")
    screen.locator(".hit").first.wait_for()
    # Beside the hits the filters are open and have no "Filtry" fold to tap.
    assert screen.locator(".facets button.facet").first.is_visible()
    assert not screen.locator(".facet-lists > summary").is_visible()
    facets = screen.locator(".facets").bounding_box()
    hits = screen.locator("ol.hits").bounding_box()
    assert facets is not None and hits is not None
    assert hits["x"] >= facets["x"] + facets["width"]
