"""Replies join their ticket: by our signed Message-ID, by the body token, by subject number
from a participant only; on real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB, new_message_id
from intake.orm import IntakeCallRow
from intake.service import IntakeContext, accept_call, ingest_mail
from tests.integration.conftest import make_mail
from tickets.adapters.db import Database
from tickets.adapters.orm import TicketHistoryRow, TicketMessageRow
from tickets.adapters.outbox import OutboxJobRow
from tickets.schemas import SYSTEM


@pytest.fixture
def ticket(db: Database, ctx: IntakeContext) -> tuple[int, str, str]:
    """(ticket id, number, Message-ID of the acknowledgement) of an accepted call."""
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(sender="jan@klient.pl", subject="Błąd JPK"))
        ticket = accept_call(s, ctx, SYSTEM, result.call_id)  # type: ignore[arg-type]
        ticket_id, number = ticket.id, ticket.number
    with db.read() as s:
        payload = s.scalars(
            select(OutboxJobRow.payload).where(OutboxJobRow.kind == SEND_MAIL_JOB)
        ).one()
    return ticket_id, number, str(payload["message_id"]).strip("<>")


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
    assert _inbound(db, ticket_id)[-1] == (
        "kolega@klient.pl",
        "signed Message-ID in In-Reply-To/References",
    )
    with db.read() as s:
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
