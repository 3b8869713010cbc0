"""Replies join their ticket: by our signed Message-ID, by the body token, by subject number
from a participant only; on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.orm import IntakeCallRow
from intake.queue import accept_call
from intake.settings import IntakeSettings
from tests.integration.conftest import make_mail
from tickets.core.db import Database, utcnow
from tickets.core.message_ids import new_message_id
from tickets.core.orm import TicketHistoryRow, TicketMessageRow, TicketRow
from tickets.core.outbox import OutboxJobRow
from tickets.core.schemas import SYSTEM
from tickets.core.services import transition_ticket
from tickets.core.settings import Settings


@pytest.fixture
def ticket(db: Database, ctx: IntakeContext) -> tuple[int, str, str]:
    """(ticket id, number, Message-ID of the acknowledgement) of an accepted call."""
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(sender="jan@klient.pl", subject="Błąd JPK"))
        ticket = accept_call(s, ctx, SYSTEM, result.call_id)  # type: ignore[arg-type]
        ticket_id, number = ticket.id, ticket.number
    with db.read() as s:
        payloads = s.scalars(
            select(OutboxJobRow.payload).where(OutboxJobRow.kind == SEND_MAIL_JOB)
        ).all()
    # The acknowledgement on arrival, then the one with the ticket number.
    assert [p["purpose"] for p in payloads] == ["received", "ack"]
    return ticket_id, number, str(payloads[1]["message_id"]).strip("<>")


def _inbound(db: Database, ticket_id: int) -> list[tuple[str, str]]:
    with db.read() as s:
        rows = s.scalars(
            select(TicketMessageRow)
            .where(TicketMessageRow.ticket_id == ticket_id, TicketMessageRow.direction == "in")
            .order_by(TicketMessageRow.id)
        )
        return [(m.sender, m.attach_reason) for m in rows]


def test_reply_to_our_signed_message_id_joins_the_ticket(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, _number, ack_id = ticket
    reply = make_mail(
        sender="kolega@klient.pl",  # not a participant: the signature is what counts
        subject="Re: odpowiedź",
        headers={"In-Reply-To": f"<{ack_id}>", "References": f"<x@y> <{ack_id}>"},
        body="Dalej nie działa.",
    )
    with db.transaction() as s:
        result = ingest_mail(s, ctx, reply)
    assert (result.outcome, result.status, result.ticket_id) == ("threaded", "threaded", ticket_id)
    # Attached (the signature is what counts), but flagged: not a participant of the ticket.
    assert _inbound(db, ticket_id)[-1] == (
        "kolega@klient.pl",
        "signed Message-ID in In-Reply-To/References; nadawca spoza zgłoszenia",
    )
    with db.read() as s:
        message = s.scalars(
            select(TicketMessageRow).where(TicketMessageRow.sender == "kolega@klient.pl")
        ).one()
        assert message.sender_flag == "nadawca spoza zgłoszenia" and not message.automatic
        assert message.spam_score is not None
        history = s.scalars(
            select(TicketHistoryRow).where(
                TicketHistoryRow.ticket_id == ticket_id, TicketHistoryRow.action == "mail_threaded"
            )
        ).one()
        assert "signed Message-ID" in history.note
        assert s.scalars(select(IntakeCallRow)).all().__len__() == 1  # no new call
    with db.transaction() as s:  # the same reply delivered again
        again = ingest_mail(s, ctx, reply)
    assert again.duplicate and again.ticket_id == ticket_id
    assert len(_inbound(db, ticket_id)) == 2


def test_a_forged_signature_does_not_thread(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, _number, _ack = ticket
    forged = new_message_id(ticket_id, domain="sedno.test", secret="not-our-secret")
    with db.transaction() as s:
        result = ingest_mail(
            s, ctx, make_mail(sender="obcy@spam.example", headers={"In-Reply-To": f"<{forged}>"})
        )
    assert result.outcome == "call" and result.ticket_id is None
    assert len(_inbound(db, ticket_id)) == 1


def test_signed_token_in_the_body_threads_when_headers_were_rewritten(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, _number, ack_id = ticket
    body = f"Nadal błąd.\n\n> Ta wiadomość została wysłana automatycznie.\n> [ref: {ack_id}]\n"
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(sender="jan@klient.pl", subject="Re:", body=body))
    assert result.outcome == "threaded" and result.ticket_id == ticket_id
    assert _inbound(db, ticket_id)[-1][1] == "signed reference in the body"


def test_subject_number_threads_only_for_a_participant(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, number, _ack = ticket
    with db.transaction() as s:
        own = ingest_mail(
            s, ctx, make_mail(sender="Jan@Klient.pl", subject=f"Re: [{number}] Błąd JPK")
        )
    assert own.outcome == "threaded" and own.ticket_id == ticket_id
    assert "sent by a participant" in _inbound(db, ticket_id)[-1][1]

    with db.transaction() as s:
        stranger = ingest_mail(
            s, ctx, make_mail(sender="ktos@inna-firma.pl", subject=f"[{number}] też mam błąd")
        )
    assert stranger.outcome == "call" and stranger.status == "pending"
    with db.read() as s:
        call = s.get(IntakeCallRow, stranger.call_id)
        assert call is not None
        assert call.possible_ticket_id == ticket_id and call.ticket_id is None
        assert "non-participant" in call.reason
    assert len(_inbound(db, ticket_id)) == 2


def test_unknown_number_in_subject_is_just_a_new_call(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(subject="[ZS/2020/999] stara sprawa"))
    with db.read() as s:
        call = s.get(IntakeCallRow, result.call_id)
        assert call is not None and call.possible_ticket_id is None and call.status == "pending"


# A reply to a finished ticket ---------------------------------------------------------------


def _complete(db: Database, ticket_id: int, *, days_ago: float = 0, cancel: bool = False) -> None:
    """Finish the ticket through the ticket service, then date the completion back."""
    with db.transaction() as s:
        transition_ticket(s, SYSTEM, ticket_id, "in_progress")
        transition_ticket(s, SYSTEM, ticket_id, "cancelled" if cancel else "completed")
        row = s.get(TicketRow, ticket_id)
        assert row is not None
        when = utcnow() - dt.timedelta(days=days_ago)
        row.updated_at = when
        if row.completed_at is not None:
            row.completed_at = when


def _state_and_history(db: Database, ticket_id: int) -> tuple[str, list[tuple[str, str, str]]]:
    """The ticket's state and its transitions as (old, new, note)."""
    with db.read() as s:
        row = s.get(TicketRow, ticket_id)
        assert row is not None
        history = s.scalars(
            select(TicketHistoryRow)
            .where(TicketHistoryRow.ticket_id == ticket_id, TicketHistoryRow.action == "transition")
            .order_by(TicketHistoryRow.id)
        ).all()
        return row.state, [(h.old_value, h.new_value, h.note) for h in history]


def _reply(ack_id: str, **kw: object) -> bytes:
    return make_mail(
        sender="jan@klient.pl",
        subject="Re: Błąd JPK",
        headers={"In-Reply-To": f"<{ack_id}>", **kw.pop("headers", {})},  # type: ignore[dict-item]
        body="Błąd wrócił po aktualizacji.",
        **kw,  # type: ignore[arg-type]
    )


def test_reply_to_a_recently_completed_ticket_reopens_it(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, _number, ack_id = ticket
    _complete(db, ticket_id, days_ago=12)
    with db.transaction() as s:
        result = ingest_mail(s, ctx, _reply(ack_id))
    assert (result.outcome, result.status, result.ticket_id) == ("threaded", "reopened", ticket_id)
    state, history = _state_and_history(db, ticket_id)
    assert state == "in_progress"
    old, new, note = history[-1]
    assert (old, new) == ("completed", "in_progress")
    assert "jan@klient.pl" in note and "12 day(s) after completion" in note
    assert _inbound(db, ticket_id)[-1][0] == "jan@klient.pl"
    with db.read() as s:
        assert len(s.scalars(select(IntakeCallRow)).all()) == 1  # no new call
    with db.transaction() as s:  # delivered again: nothing more happens
        again = ingest_mail(s, ctx, _reply(ack_id, message_id="again@klient.pl"))
        repeat = ingest_mail(s, ctx, _reply(ack_id, message_id="again@klient.pl"))
    assert again.status == "threaded" and repeat.duplicate  # open now: a plain attach
    assert len(_state_and_history(db, ticket_id)[1]) == len(history)


def test_reply_after_the_reopen_window_becomes_a_new_call_naming_the_ticket(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, number, ack_id = ticket
    _complete(db, ticket_id, days_ago=31)
    with db.transaction() as s:
        result = ingest_mail(s, ctx, _reply(ack_id))
    assert result.outcome == "call" and result.status == "pending"
    state, _history = _state_and_history(db, ticket_id)
    assert state == "completed"
    with db.read() as s:
        call = s.get(IntakeCallRow, result.call_id)
        assert call is not None
        assert call.possible_ticket_id == ticket_id and call.ticket_id is None
        assert f"reply to {number}, completed 31 days ago" in call.reason
        assert call.source_info["follow_up_of"] == number
    assert len(_inbound(db, ticket_id)) == 1


def test_reply_to_a_cancelled_ticket_becomes_a_new_call(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str]
) -> None:
    ticket_id, number, ack_id = ticket
    _complete(db, ticket_id, cancel=True)
    with db.transaction() as s:
        result = ingest_mail(s, ctx, _reply(ack_id))
    assert result.outcome == "call" and result.status == "pending"
    assert _state_and_history(db, ticket_id)[0] == "cancelled"
    with db.read() as s:
        call = s.get(IntakeCallRow, result.call_id)
        assert call is not None and call.possible_ticket_id == ticket_id
        assert f"reply to {number}, which is cancelled" in call.reason


def test_the_reopen_window_is_a_setting(
    db: Database, intake_settings: Settings, ticket: tuple[int, str, str]
) -> None:
    ticket_id, _number, ack_id = ticket
    _complete(db, ticket_id, days_ago=3)
    strict = IntakeContext(intake_settings, intake=IntakeSettings(reopen_days=2))
    with db.transaction() as s:
        result = ingest_mail(s, strict, _reply(ack_id))
    assert result.outcome == "call"
    assert _state_and_history(db, ticket_id)[0] == "completed"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied", "Subject": "Automatic reply: Błąd JPK"},
        {"Return-Path": "<>"},
    ],
    ids=["auto-reply", "bounce"],
)
def test_auto_replies_and_bounces_never_reopen(
    db: Database, ctx: IntakeContext, ticket: tuple[int, str, str], headers: dict[str, str]
) -> None:
    ticket_id, _number, ack_id = ticket
    _complete(db, ticket_id, days_ago=1)
    raw = make_mail(
        sender="mailer-daemon@klient.pl" if "Return-Path" in headers else "jan@klient.pl",
        subject=headers.pop("Subject", "Undelivered Mail Returned to Sender"),
        headers={"In-Reply-To": f"<{ack_id}>", **headers},
        body="Jestem na urlopie.",
    )
    with db.transaction() as s:
        result = ingest_mail(s, ctx, raw)
    # Attached to the ticket it refers to, as automatic: shown, never acted on.
    assert result.outcome == "threaded" and result.classification in ("auto_reply", "bounce")
    state, _history = _state_and_history(db, ticket_id)
    assert state == "completed"
    assert len(_inbound(db, ticket_id)) == 2
    with db.read() as s:
        automatic = s.scalars(
            select(TicketMessageRow).where(
                TicketMessageRow.ticket_id == ticket_id, TicketMessageRow.automatic.is_(True)
            )
        ).one()
        assert automatic.spam_score is None
        assert s.scalars(select(IntakeCallRow)).all().__len__() == 1  # no new call
