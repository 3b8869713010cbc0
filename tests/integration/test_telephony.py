"""Telephony on real SQLite and PostgreSQL: routing by status, PBX events (idempotent, in any
order), caller look-up by number in any format, call-log import and the call-back list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy import select

from tickets.accounts.auth import create_user
from tickets.core import services
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketRow, TimeEntryRow
from tickets.core.phone_numbers import to_e164
from tickets.core.schemas import SYSTEM, Actor, TicketCreate
from tickets.directory import service as directory
from tickets.telephony import callbacks, statuses
from tickets.telephony.calls import CallEventIn, apply_call_event
from tickets.telephony.importer import import_cdr_file
from tickets.telephony.lookup import caller_view
from tickets.telephony.orm import CallEventRow, CallRow
from tickets.telephony.routing import route_call
from tickets.telephony.settings import TelephonySettings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cdr"
WARSAW = ZoneInfo("Europe/Warsaw")
T0 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
SETTINGS = TelephonySettings(secret="s", min_digits=7, wrap_up_s=60, queue_extension="800")


class Desk(msgspec.Struct):
    """Three consultants with extensions and a client with a contact, all by phone."""

    anna: int
    bartek: int
    celina: int
    client_id: int
    blocked_client_id: int
    contact_id: int


def _desk(db: Database) -> Desk:
    with db.transaction() as s:
        users = {}
        for login, ext, competences in (
            ("anna", "101", ["Handel"]),
            ("bartek", "102", ["Kadry Płace"]),
            ("celina", "103", []),
        ):
            user, _ = create_user(s, login=login, name=login.title(), role="consultant")
            statuses.set_telephony(
                s, user.id, statuses.TelephonyPatch(extension=ext, competences=competences)
            )
            users[login] = user.id
        client = directory.create_client(
            s,
            directory.ClientIn(
                name="Hurtownia Kowalski",
                phone="22 123 45 67",
                licences=[directory.LicenceIn(number="L-1", modules=["Kadry Płace"])],
            ),
        )
        blocked = directory.create_client(
            s,
            directory.ClientIn(
                name="Dłużnik sp. z o.o.",
                phone="+48 500 600 700",
                do_not_contact=True,
                sales_note="Zaległe faktury",
            ),
        )
        contact = directory.create_contact(
            s,
            directory.ContactIn(name="Jan Nowak", phone="600-100-200", client_id=client.id),
        )
        return Desk(
            users["anna"], users["bartek"], users["celina"], client.id, blocked.id, contact.id
        )


def _status(db: Database, user_id: int, status: str, at: dt.datetime) -> None:
    with db.transaction() as s:
        statuses.set_status(s, user_id, status, at)


def _route(db: Database, caller: str, now: dt.datetime) -> tuple[str | None, int | None, str]:
    with db.read() as s:
        route = route_call(s, to_e164(caller), SETTINGS, now)
    return route.extension, route.user_id, route.reason


def _event(db: Database, now: dt.datetime, **fields: object) -> str:
    with db.transaction() as s:
        outcome = apply_call_event(s, msgspec.convert(fields, CallEventIn), SETTINGS, now)
    return outcome.outcome


def test_numbers_in_any_format_are_one_number() -> None:
    assert to_e164("+48 600 100 200") == to_e164("600100200") == to_e164("0048600100200")
    assert to_e164("600100200") == "+48600100200"
    assert to_e164("(22) 123-45-67") == to_e164("0 22 123 45 67") == "+48221234567"
    assert to_e164("+49 30 1234567") == "+49301234567"
    assert to_e164("101") is None and to_e164("") is None and to_e164("anonymous") is None


def test_lookup_finds_the_contact_and_client_with_warnings_first(db: Database) -> None:
    desk = _desk(db)
    with db.read() as s:
        view = caller_view(s, to_e164("0048600100200"))
        assert view.known and view.contact is not None and view.client is not None
        assert view.contact.name == "Jan Nowak" and view.client.id == desk.client_id
        blocked = caller_view(s, to_e164("500600700"))
        assert blocked.client is not None and blocked.client.id == desk.blocked_client_id
        assert blocked.warnings[0] == "Zakaz kontaktu"
        assert blocked.warnings[1] == "Uwaga handlowa: Zaległe faktury"
        assert not caller_view(s, to_e164("+48 601 000 000")).known


def test_route_follows_the_precedence_and_the_statuses(db: Database) -> None:
    desk = _desk(db)
    caller = "600 100 200"  # Jan Nowak of Hurtownia Kowalski
    # Nobody is free yet (a new line starts away): the queue.
    assert _route(db, caller, T0) == ("800", None, "queue")
    for minute, user in enumerate((desk.celina, desk.bartek, desk.anna)):
        _status(db, user, "available", T0 + dt.timedelta(minutes=minute))
    now = T0 + dt.timedelta(minutes=10)
    # No consultant of the client, no open ticket: the module of the licence (Kadry Płace).
    assert _route(db, caller, now) == ("102", desk.bartek, "module_competence")
    # An unknown caller goes to whoever has been free longest.
    assert _route(db, "+48 601 000 000", now) == ("103", desk.celina, "any_free")
    # An open ticket of the client led by Anna: her.
    with db.transaction() as s:
        services.create_ticket(
            s,
            SYSTEM,
            TicketCreate(
                title="Błąd wydruku", client_id=desk.client_id, lead_consultant_id=desk.anna
            ),
        )
    assert _route(db, caller, now) == ("101", desk.anna, "ticket_consultant")
    # The client's own consultant (opiekun klienta) comes before that.
    with db.transaction() as s:
        directory.update_client(s, desk.client_id, directory.ClientPatch(consultant_id=desk.celina))
    assert _route(db, caller, now) == ("103", desk.celina, "client_consultant")
    # On a break she is skipped; Anna (the ticket) is next.
    _status(db, desk.celina, "break", now)
    assert _route(db, caller, now) == ("101", desk.anna, "ticket_consultant")
    # A status the desk adds counts as free only when it says so.
    with db.transaction() as s:
        entries = statuses.status_entries(s)
        entries.append(
            statuses.StatusEntry(code="duty", label_pl="Dyżur", label_en="On duty", routable=True)
        )
        statuses.put_statuses(s, entries)
    _status(db, desk.celina, "duty", now)
    assert _route(db, caller, now) == ("103", desk.celina, "client_consultant")
    for user in (desk.anna, desk.bartek, desk.celina):
        _status(db, user, "away", now)
    assert _route(db, caller, now) == ("800", None, "queue")


def test_call_events_drive_status_zt_event_and_stopwatch(db: Database) -> None:
    desk = _desk(db)
    _status(db, desk.anna, "available", T0 - dt.timedelta(hours=1))
    ring = {"call_id": "c-1", "caller": "+48 600 100 200", "extension": "101"}
    assert _event(db, T0, event="ringing", at=T0.isoformat(), **ring) == "applied"
    answered_at = T0 + dt.timedelta(seconds=8)
    assert _event(db, T0, event="answered", at=answered_at.isoformat(), **ring) == "applied"
    with db.read() as s:
        call = s.scalar(select(CallRow).where(CallRow.call_id == "c-1"))
        assert call is not None and call.state == "answered" and call.ticket_id is not None
        ticket = s.get(TicketRow, call.ticket_id)
        assert ticket is not None and ticket.definition_code == "ZT"
        assert ticket.state == "in_progress" and ticket.client_id == desk.client_id
        assert ticket.contact_id == desk.contact_id and ticket.lead_consultant_id == desk.anna
        assert ticket.title == "Połączenie: Jan Nowak (Hurtownia Kowalski)"
        ticket_id = ticket.id
        timer = s.scalar(select(TimeEntryRow).where(TimeEntryRow.ticket_id == ticket.id))
        assert timer is not None and timer.started_at == answered_at and timer.stopped_at is None
        line = statuses.line_of(s, desk.anna)
        assert line.status == "on_call"
    # On a call, Anna is not routed to.
    assert _route(db, "+48 601 000 000", answered_at)[2] == "queue"
    ended_at = answered_at + dt.timedelta(minutes=4)
    assert _event(db, T0, event="ended", at=ended_at.isoformat(), **ring) == "applied"
    with db.read() as s:
        timer = s.scalar(select(TimeEntryRow).where(TimeEntryRow.ticket_id == ticket_id))
        assert timer is not None and timer.stopped_at == ended_at and timer.seconds == 240
        call = s.scalar(select(CallRow).where(CallRow.call_id == "c-1"))
        assert call is not None and call.state == "ended" and call.talk_s == 240
    # Wrap-up: still busy 30 s after the call, free after 60 s.
    assert _route(db, "+48 601 000 000", ended_at + dt.timedelta(seconds=30))[2] == "queue"
    assert _route(db, "+48 601 000 000", ended_at + dt.timedelta(seconds=61))[1] == desk.anna
    with db.read() as s:
        free_at = ended_at + dt.timedelta(seconds=60)
        line = statuses.current_line(s, desk.anna, ended_at + dt.timedelta(seconds=61))
        assert line.status == "available" and line.status_since == free_at
        assert statuses.current_line(s, desk.anna, ended_at).status == "on_call"


def test_events_are_idempotent_per_call_and_event(db: Database) -> None:
    desk = _desk(db)
    ring = {"call_id": "c-2", "caller": "600100200", "extension": "101"}
    assert _event(db, T0, event="ringing", **ring) == "applied"
    assert _event(db, T0, event="answered", **ring) == "applied"
    assert _event(db, T0, event="answered", **ring) == "duplicate"
    assert _event(db, T0, event="ringing", **ring) == "duplicate"
    with db.read() as s:
        assert len(list(s.scalars(select(CallEventRow)))) == 2
        assert len(list(s.scalars(select(TicketRow).where(TicketRow.definition_code == "ZT")))) == 1
        assert (
            len(list(s.scalars(select(TimeEntryRow).where(TimeEntryRow.user_id == desk.anna)))) == 1
        )
    # Internal calls (short numbers) are not logged at all.
    assert (
        _event(db, T0, event="ringing", call_id="c-3", caller="102", extension="101") == "ignored"
    )
    with db.read() as s:
        assert s.scalar(select(CallRow).where(CallRow.call_id == "c-3")) is None


def test_events_out_of_order_end_up_the_same(db: Database) -> None:
    desk = _desk(db)
    _status(db, desk.anna, "available", T0 - dt.timedelta(hours=1))
    call = {"call_id": "c-4", "caller": "600100200", "extension": "101"}
    answered_at, ended_at = T0 + dt.timedelta(seconds=5), T0 + dt.timedelta(seconds=65)
    # ended first, then answered, then ringing (a forwarder that retried out of order)
    assert _event(db, T0, event="ended", at=ended_at.isoformat(), **call) == "applied"
    assert _event(db, T0, event="answered", at=answered_at.isoformat(), **call) == "applied"
    assert _event(db, T0, event="ringing", at=T0.isoformat(), **call) == "applied"
    with db.read() as s:
        row = s.scalar(select(CallRow).where(CallRow.call_id == "c-4"))
        assert row is not None and row.state == "ended" and row.talk_s == 60
        assert row.started_at == T0 and row.ticket_id is not None
        timer = s.scalar(select(TimeEntryRow).where(TimeEntryRow.ticket_id == row.ticket_id))
        assert timer is not None and timer.started_at == answered_at
        assert timer.stopped_at == ended_at and timer.seconds == 60
        # The late ringing pops nothing: the call is over.
        ringing = s.scalar(
            select(CallEventRow).where(
                CallEventRow.call_id == "c-4", CallEventRow.event == "ringing"
            )
        )
        assert ringing is not None and ringing.user_id is None
        line = statuses.line_of(s, desk.anna)
        assert line.status == "on_call" and line.free_at == ended_at + dt.timedelta(seconds=60)


def test_missed_calls_from_known_callers_wait_for_a_call_back(db: Database) -> None:
    desk = _desk(db)
    known = {"caller": "600100200", "extension": "101"}
    _event(db, T0, event="ringing", call_id="m-1", at=T0.isoformat(), **known)
    _event(db, T0, event="ended", call_id="m-1", at=T0.isoformat(), **known)
    later = T0 + dt.timedelta(minutes=5)
    _event(db, T0, event="ringing", call_id="m-2", at=later.isoformat(), **known)
    _event(db, T0, event="ended", call_id="m-2", at=later.isoformat(), **known)
    _event(db, T0, event="ringing", call_id="m-3", caller="601000000", extension="101")
    _event(db, T0, event="ended", call_id="m-3", caller="601000000", extension="101")
    with db.read() as s:
        items = callbacks.list_callbacks(s)
    assert [(c.number, c.attempts, c.client_id) for c in items] == [
        ("+48600100200", 2, desk.client_id)
    ]
    assert items[0].contact_name == "Jan Nowak" and items[0].last_at == later
    # The client calls again and is answered: the list is empty.
    again = T0 + dt.timedelta(minutes=30)
    _event(db, T0, event="answered", call_id="m-4", at=again.isoformat(), **known)
    with db.read() as s:
        assert callbacks.list_callbacks(s) == []
        settled = s.scalar(select(CallRow).where(CallRow.call_id == "m-1"))
        assert settled is not None and settled.callback_by_id == desk.anna


def test_asterisk_call_log_import(db: Database) -> None:
    desk = _desk(db)
    # The 09:00 call came live too (the forwarder used the uniqueid): the log completes it.
    _event(db, T0, event="answered", call_id="1764489600.1", caller="600100200",
           extension="101", at="2026-11-30T08:00:05+00:00")  # fmt: skip
    settings = SETTINGS
    summary = import_cdr_file(db, FIXTURES / "Master.csv", "asterisk", settings, WARSAW)
    assert summary.errors and summary.errors[0][0] == 7 and "start" in summary.errors[0][1]
    assert summary.skipped_internal == 1  # 101 → 102
    assert (summary.imported, summary.updated) == (4, 1)
    with db.read() as s:
        calls = {c.call_id: c for c in s.scalars(select(CallRow))}
        live = calls["1764489600.1"]
        assert live.state == "ended" and live.talk_s == 240 and live.ticket_id is not None
        missed = calls["1764496800.3"]
        assert missed.state == "missed" and missed.client_id == desk.client_id
        assert missed.started_at == dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)  # 11:00 CET
        outbound = calls["1764504000.9"]
        assert outbound.direction == "outbound" and outbound.user_id == desk.anna
        # The 13:00 call back to Jan Nowak settled the 11:00 missed call.
        assert missed.callback_done_at == outbound.answered_at
        busy = calls["1764500400.5"]
        assert busy.state == "missed" and busy.client_id == desk.client_id
        unknown = calls["1764507600.11"]
        assert unknown.client_id is None and unknown.contact_id is None
        items = callbacks.list_callbacks(s)
    # Only the client's office number is left to call back (the unknown caller is not listed).
    assert [c.number for c in items] == ["+48221234567"]
    again = import_cdr_file(db, FIXTURES / "Master.csv", "asterisk", settings, WARSAW)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 5)


def test_min_digits_decides_what_is_internal(db: Database) -> None:
    _desk(db)
    strict = msgspec.structs.replace(SETTINGS, min_digits=12)
    summary = import_cdr_file(db, FIXTURES / "Master.csv", "asterisk", strict, WARSAW)
    # Only "0048…" numbers have 12 digits or more.
    assert summary.imported == 2 and summary.skipped_internal == 4


def test_3cx_call_log_import_attaches_the_zt_event(db: Database) -> None:
    desk = _desk(db)
    anna = Actor(desk.anna, "Anna", "consultant")
    with db.transaction() as s:
        # Anna registered the 10:00 (Warsaw) call by hand, as consultants do without live events.
        event = services.register_phone_event(
            s, anna, services.PhoneEventCreate(title="Pytanie o licencję", client_id=desk.client_id)
        )
        event.reported_at = dt.datetime(2026, 11, 30, 8, 1, tzinfo=dt.UTC)
        event_id = event.id
    summary = import_cdr_file(db, FIXTURES / "3cx-cdr.log", "3cx", SETTINGS, WARSAW)
    assert summary.errors == []
    assert (summary.imported, summary.skipped_internal, summary.attached) == (2, 1, 1)
    with db.read() as s:
        calls = {c.call_id: c for c in s.scalars(select(CallRow))}
        answered = calls["00000C1F0A1B2C3D_1"]
        assert answered.state == "ended" and answered.talk_s == 180
        assert answered.user_id == desk.anna and answered.ticket_id == event_id
        assert answered.contact_id == desk.contact_id
        history = s.scalar(
            select(TicketHistoryRow).where(
                TicketHistoryRow.ticket_id == event_id, TicketHistoryRow.action == "call_attached"
            )
        )
        assert history is not None and history.new_value == "00000C1F0A1B2C3D_1"
        assert calls["00000C1F0A1B2C3D_2"].state == "missed"
        # The queue call at 10:00 came after the answered one at 09:00: it waits for a call back.
        assert [c.number for c in callbacks.list_callbacks(s)] == ["+48600100200"]
    again = import_cdr_file(db, FIXTURES / "3cx-cdr.log", "3cx", SETTINGS, WARSAW)
    assert again.imported == 0 and again.attached == 0


@pytest.mark.parametrize("status", ["nonsense", "Available"])
def test_unknown_status_is_refused_naming_the_field(sqlite_db: Database, status: str) -> None:
    with sqlite_db.transaction() as s:
        user, _ = create_user(s, login="x", name="X", role="consultant")
        statuses.seed_statuses(s)
    with pytest.raises(Exception) as info, sqlite_db.transaction() as s:
        statuses.set_status(s, user.id, status, T0)
    assert getattr(info.value, "field", None) == "status"
