"""One answer, once, in the consultant's browser; rejected answers say so."""

from __future__ import annotations

from typing import Any

from tests.e2e.ui.conftest import Server, login
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket

# A word no other UI test uses: the UI test files of a worker share one server and its index,
# and "zorbiksowa" (used here before) also found the curator test's "Zorbiksowy eksport" tickets
# when that file ran first on the same worker (4 hits where 2 were expected).
ANSWER = (
    "Panie {name}, w Konfiguracji → Wydruki → Faktura kwazarnikowa proszę wskazać plik logo i "
    "zapisać wzorzec; po ponownym uruchomieniu wydruku logo się pojawi."
)


def _solved(server: Server, title: str, solution: str, resolution: str = "resolved") -> int:
    with server.container.db.transaction() as s:
        ticket = create_ticket(
            s,
            SYSTEM,
            TicketCreate(definition="ZS", title=title, description=title, solution=solution),
            state="completed",
            resolution=resolution,
        )
        return ticket.id


def test_copies_collapse_into_one_expandable_result(page: Any, ui_server: Server) -> None:
    for name in ("Kowalski", "Nowak", "Wiśniewski", "Zieliński", "Lewandowski"):
        _solved(ui_server, f"Faktura kwazarnikowa bez logo ({name})", ANSWER.format(name=name))
    _solved(ui_server, "Faktura kwazarnikowa w kolorze", "Nie planujemy tego.", "rejected")
    ui_server.index()

    login(page, ui_server.url)
    page.locator("#q").press_sequentially("kwazarnikowa", delay=30)
    # The list of the whole word, not of a prefix typed on the way ("zo" folds copies too).
    page.wait_for_function("(q) => location.search === '?q=' + q", arg="kwazarnikowa")
    page.wait_for_selector(".hit .same-solution")
    assert page.locator(".hit").count() == 2
    # Two answers standing for the six tickets found, not "6 wyników" over two cards.
    assert page.locator(".total").inner_text().startswith("2 wyniki (6 zgłoszeń) · ")
    summary = page.locator(".hit .same-solution summary")
    assert summary.inner_text() == "i 4 podobne zgłoszenia"
    copies = page.locator(".hit .same-solution li a")
    assert not copies.first.is_visible()
    summary.click()
    assert copies.count() == 4 and copies.first.is_visible()
    assert "Faktura kwazarnikowa bez logo" in copies.first.inner_text()
    rejected = page.locator(".hit.rejected")
    assert rejected.locator(".badge.rejected").inner_text() == "Odrzucone"

    # Narrow phone screen: the expanded list does not push the results sideways. (The top
    # bar of base.html overflows at 390 px on its own; that is not this page's list.)
    page.set_viewport_size({"width": 390, "height": 800})
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('#hits, #hits *')).filter(e =>"
        " e.getBoundingClientRect().right > window.innerWidth + 1).map(e => e.tagName)"
    )
    assert wide == []
