"""The numbering year is the desk's calendar year (`SEDNO_TIMEZONE`), not UTC's."""

from __future__ import annotations

import datetime as dt

import pytest

from tickets.core.db import Database
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.core.settings import load_settings

NEW_YEAR_IN_WARSAW = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 Jan 2027


def test_half_past_midnight_on_new_year_in_warsaw_gets_the_new_years_number(db: Database) -> None:
    with db.transaction() as s:
        late = create_ticket(
            s, SYSTEM, TicketCreate(title="przed północą"), now=NEW_YEAR_IN_WARSAW
        ).number
        before = create_ticket(
            s,
            SYSTEM,
            TicketCreate(title="22:59 UTC"),
            now=dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.UTC),
        ).number
    assert late == "ZS/2027/1"
    assert before == "ZS/2026/1"


def test_an_imported_ticket_is_numbered_by_its_local_reporting_day(db: Database) -> None:
    with db.transaction() as s:
        row = create_ticket(
            s,
            SYSTEM,
            TicketCreate(title="import", reported_at=NEW_YEAR_IN_WARSAW),
            external_id="old:1",
        )
        assert row.number == "ZS/2027/1"


def test_a_desk_in_utc_keeps_the_old_year(db: Database) -> None:
    utc_desk = Database(db.url, desk_timezone="UTC")
    try:
        with utc_desk.transaction() as s:
            number = create_ticket(
                s, SYSTEM, TicketCreate(title="x"), now=NEW_YEAR_IN_WARSAW
            ).number
        assert number == "ZS/2026/1"
    finally:
        utc_desk.dispose()


def test_the_setting_defaults_to_warsaw_and_refuses_an_unknown_zone(tmp_path: object) -> None:
    assert load_settings({}).timezone == "Europe/Warsaw"
    assert load_settings({"SEDNO_TIMEZONE": "Europe/London"}).timezone == "Europe/London"
    with pytest.raises(Exception, match="Mars"):
        load_settings({"SEDNO_TIMEZONE": "Mars/Olympus"})
