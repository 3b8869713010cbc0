"""The planner and the to-do page in headless Chromium, at 1366×768 and on a 390×844 phone."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from tests.e2e.ui.conftest import PHONE, Server, login, no_sideways_scroll, screenshot, sized_tab
from tickets.accounts.auth import create_user
from tickets.core.orm import UserRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.planner.appointments import book_appointment
from tickets.planner.calendars import put_calendar, set_holiday
from tickets.planner.orm import AppointmentRow
from tickets.planner.schemas import AppointmentCreate, CalendarPut, HolidayPut
from tickets.planner.settings import PlannerSettings

MONDAY = dt.date(2027, 1, 11)
TUESDAY, WEDNESDAY, FRIDAY = (MONDAY + dt.timedelta(days=n) for n in (1, 2, 4))
WEEK_8_16 = {day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


class Plan:
    """A planning group of its own (so other tests' data stays out) with tasks to plan."""

    def __init__(self, server: Server) -> None:
        self.group = f"serwis-{uuid.uuid4().hex[:6]}"
        settings = PlannerSettings()
        with server.container.db.transaction() as s:
            konsultant = s.scalar(select(UserRow).where(UserRow.login == "konsultant"))
            assert konsultant is not None
            technik, _ = create_user(
                s, login=f"technik-{self.group}", name="Tomasz Technik", role="consultant"
            )
            for user_id in (konsultant.id, technik.id):
                put_calendar(
                    s, settings, user_id,
                    CalendarPut(weekly_hours=WEEK_8_16, group=self.group, site="Kraków"),
                )  # fmt: skip
            set_holiday(s, FRIDAY, HolidayPut(name="Dzień firmy"))
            self.konsultant, self.technik = konsultant.id, technik.id
            self.tasks = {
                key: (t.id, t.number)
                for key, t in (
                    (
                        key,
                        create_ticket(s, SYSTEM, TicketCreate(title=f"Wizyta {key} {self.group}")),
                    )
                    for key in ("a", "b", "c", "d")
                )
            }

    def url(self, server: Server) -> str:
        return f"{server.url}/planner?week={MONDAY}&group={self.group}"

    def slot(self, page: Any, operator: int, day: dt.date, clock: str) -> Any:
        return page.locator(f"#day-{operator}-{day} .slot[data-start='{day}T{clock}']")

    def appointments(self, server: Server, ticket_key: str) -> list[tuple[dt.datetime, int]]:
        """(start, operator) of the ticket's live appointments."""
        with server.container.db.read() as s:
            return [
                (start, operator)
                for start, operator in s.execute(
                    select(AppointmentRow.starts_at, AppointmentRow.operator_id).where(
                        AppointmentRow.ticket_id == self.tasks[ticket_key][0],
                        AppointmentRow.status != "cancelled",
                    )
                )
            ]


@pytest.fixture
def phone(browser: Any, ui_server: Server) -> Iterator[Any]:
    with sized_tab(browser, PHONE) as tab:
        yield tab


def _saved(page: Any, action: Callable[[], None], message: str = "Zapisano termin") -> None:
    """Do `action`; the planner reloads with the message in its status line (a refusal shows
    in that line instead, and is what a failure then says)."""
    try:
        with page.expect_navigation():
            action()
    except PlaywrightTimeout as exc:
        raise AssertionError(
            f"no reload; status: {page.locator('#planner-status').inner_text()!r}"
        ) from exc
    page.locator("#planner-status", has_text=message).wait_for()


def test_drag_a_task_onto_free_time_move_it_and_lengthen_it(page: Any, ui_server: Server) -> None:
    plan = Plan(ui_server)
    login(page, ui_server.url)
    # The demo's open tasks make the list under the week long; Playwright's synthetic drag does
    # not scroll the page while the button is held (a user's browser does), so the window is
    # tall enough to hold the task and its slot at once.
    page.set_viewport_size({"width": 1366, "height": 1800})
    page.goto(plan.url(ui_server))
    task_id, number = plan.tasks["a"]
    assert page.locator(f"#task-{task_id}").is_visible()
    assert page.locator(".legend .state-in_progress").inner_text() == "W realizacji"
    # Friday is the desk's day off: its slots are greyed and cannot be used
    assert page.locator(f"#day-{plan.technik}-{FRIDAY} .slot:not([disabled])").count() == 0
    assert "Dzień firmy" in page.locator(f"#day-{plan.technik}-{FRIDAY}").inner_text()

    _saved(
        page,
        lambda: page.locator(f"#task-{task_id}").drag_to(
            plan.slot(page, plan.technik, TUESDAY, "09:00")
        ),
    )
    block = page.locator(f"#day-{plan.technik}-{TUESDAY} .appt")
    assert number in block.inner_text() and "09:00–10:00" in block.inner_text()
    assert page.locator(f"#task-{task_id}").count() == 0  # no longer unscheduled
    assert plan.appointments(ui_server, "a") == [
        (dt.datetime(2027, 1, 12, 8, 0, tzinfo=dt.UTC), plan.technik)  # 09:00 in Warsaw
    ]
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "planner")

    # move it to Wednesday 10:30, onto the other technician's row. (Playwright starts no second
    # drag on a page that a drop has just reloaded; a fresh load is what a user has anyway.)
    page.goto(plan.url(ui_server))
    block = page.locator(f"#day-{plan.technik}-{TUESDAY} .appt")
    _saved(
        page,
        lambda: block.drag_to(
            plan.slot(page, plan.konsultant, WEDNESDAY, "10:30"), source_position={"x": 12, "y": 6}
        ),
    )
    moved = page.locator(f"#day-{plan.konsultant}-{WEDNESDAY} .appt")
    assert "10:30–11:30" in moved.inner_text()
    assert page.locator(f"#day-{plan.technik}-{TUESDAY} .appt").count() == 0
    _saved(page, lambda: moved.get_by_role("button", name=f"Dłużej {number}").click())
    assert "10:30–12:00" in page.locator(f"#day-{plan.konsultant}-{WEDNESDAY} .appt").inner_text()
    # a drop on the day off does nothing
    page.locator(f"#task-{plan.tasks['b'][0]}").drag_to(
        page.locator(f"#day-{plan.technik}-{FRIDAY} .slot").nth(4), force=True
    )
    assert plan.appointments(ui_server, "b") == []


def test_the_keyboard_alternative_books_refuses_an_overlap_and_cancels(
    page: Any, ui_server: Server
) -> None:
    plan = Plan(ui_server)
    login(page, ui_server.url)
    page.goto(plan.url(ui_server))
    b_id, b_number = plan.tasks["b"]
    pick = page.locator(f"#task-{b_id} [data-pick-ticket]")
    pick.focus()
    page.keyboard.press("Enter")
    assert pick.get_attribute("aria-pressed") == "true"
    assert "Wybrano" in page.locator("#planner-status").inner_text()
    # focus went to the first free time; walk to Monday 08:30 of that technician with Tab
    first = page.evaluate("document.activeElement.dataset.start")
    assert first == f"{MONDAY}T08:00"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.start") == f"{MONDAY}T08:30"
    _saved(page, lambda: page.keyboard.press("Enter"))
    ((start, operator),) = plan.appointments(ui_server, "b")
    assert start == dt.datetime(2027, 1, 11, 7, 30, tzinfo=dt.UTC)
    # the same time for another task: refused, the message says why, nothing is booked
    c_id, _ = plan.tasks["c"]
    page.locator(f"#task-{c_id} [data-pick-ticket]").focus()
    page.keyboard.press("Enter")
    plan.slot(page, operator, MONDAY, "09:00").focus()
    page.keyboard.press("Enter")
    page.locator("#planner-status", has_text="koliduje").wait_for()
    assert plan.appointments(ui_server, "c") == []
    # Esc drops what was picked
    page.locator(f"#task-{c_id} [data-pick-ticket]").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    assert page.locator(".picked").count() == 0
    # cancel from the keyboard
    page.get_by_role("button", name=f"Odwołaj {b_number}").focus()
    _saved(page, lambda: page.keyboard.press("Enter"), "Odwołano")
    assert plan.appointments(ui_server, "b") == []
    assert page.locator(f"#task-{b_id}").is_visible()


def test_on_a_phone_the_planner_does_not_scroll_sideways_and_drag_and_drop_works(
    phone: Any, ui_server: Server
) -> None:
    plan = Plan(ui_server)
    c_id, c_number = plan.tasks["c"]
    with ui_server.container.db.transaction() as s:
        book_appointment(
            s, PlannerSettings(), SYSTEM,
            AppointmentCreate(ticket_id=c_id, operator_id=plan.technik,
                              start=f"{WEDNESDAY}T09:00", notify=False),
        )  # fmt: skip
    login(phone, ui_server.url)
    phone.goto(plan.url(ui_server))
    no_sideways_scroll(phone)
    # drag the appointment two hours later on the same day
    block = phone.locator(f"#day-{plan.technik}-{WEDNESDAY} .appt")
    block.scroll_into_view_if_needed()
    target = plan.slot(phone, plan.technik, WEDNESDAY, "11:00")
    _saved(phone, lambda: block.drag_to(target, source_position={"x": 12, "y": 6}))
    moved = phone.locator(f"#day-{plan.technik}-{WEDNESDAY} .appt")
    assert c_number in moved.inner_text() and "11:00–12:00" in moved.inner_text()
    no_sideways_scroll(phone)
    moved.scroll_into_view_if_needed()
    screenshot(phone, "planner-phone")
    # on a phone a far drag is awkward: tap "Zaplanuj", then tap the time
    d_id, d_number = plan.tasks["d"]
    phone.locator(f"#task-{d_id} [data-pick-ticket]").click()
    _saved(phone, lambda: plan.slot(phone, plan.technik, WEDNESDAY, "13:00").click())
    assert d_number in phone.locator(f"#day-{plan.technik}-{WEDNESDAY}").inner_text()


def test_the_to_do_page_on_a_phone_lists_the_day_and_checks_off(
    phone: Any, ui_server: Server
) -> None:
    plan = Plan(ui_server)
    a_id, number = plan.tasks["a"]
    with ui_server.container.db.transaction() as s:
        row = book_appointment(
            s, PlannerSettings(), SYSTEM,
            AppointmentCreate(ticket_id=a_id, operator_id=plan.konsultant,
                              start=f"{TUESDAY}T14:00", notify=False),
        )  # fmt: skip
        appointment_id = row.id
    login(phone, ui_server.url)
    phone.click("#menu-toggle")  # on a phone the page links fold behind the menu button
    phone.click("nav >> text=Moje zadania")
    phone.goto(f"{ui_server.url}/todo?date={TUESDAY}")
    item = phone.locator(f"#appointment-{appointment_id}")
    assert "14:00–15:00" in item.inner_text() and number in item.inner_text()
    no_sideways_scroll(phone)
    screenshot(phone, "todo")
    item.get_by_role("button", name="Odhacz").click()
    phone.wait_for_url(f"**/todo?date={TUESDAY}*")
    assert "Wykonane" in phone.locator(f"#appointment-{appointment_id}").inner_text()
    with ui_server.container.db.read() as s:
        stored = s.get(AppointmentRow, appointment_id)
        assert stored is not None and stored.status == "done"
