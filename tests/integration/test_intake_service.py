"""Intake use cases on real SQLite and PostgreSQL: dedupe, quarantine, rules, decisions, acks."""

from __future__ import annotations

import datetime as dt
import email
from email.policy import default

import pytest
from sqlalchemy import func, select

from intake.ack import SEND_MAIL_JOB
from intake.channels import log_phone_call
from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.learning import SPAM_LEARN_JOB
from intake.orm import IntakeCallRow, IntakeReceiptRow, QuarantineRow
from intake.queue import accept_call, drop_call, get_call, list_calls, list_quarantine, restore_call
from tests.integration.conftest import make_mail
from tickets.core.db import Database
from tickets.core.orm import (
    AttachmentRow,
    ClientRow,
    ContactRow,
    TicketHistoryRow,
    TicketMessageRow,
    UserRow,
)
from tickets.core.outbox import OutboxJobRow
from tickets.core.schemas import Actor, PhoneEventCreate, TicketCreate
from tickets.core.services import register_phone_event
from tickets.domain.errors import Conflict, ValidationFailed

AGENT = Actor(1, "Anna Konsultantka", "agent")


@pytest.fixture(autouse=True)
def _agent_user(db: Database) -> None:
    with db.transaction() as s:
        s.add(UserRow(id=1, login="anna", name="Anna Konsultantka", role="agent"))


GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def _jobs(db: Database, kind: str) -> list[dict[str, object]]:
    """Payloads of the outbox jobs of one kind, oldest first."""
    with db.read() as s:
        rows = s.scalars(
            select(OutboxJobRow).where(OutboxJobRow.kind == kind).order_by(OutboxJobRow.id)
        )
        return [dict(r.payload) for r in rows]


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _known_contact(db: Database, address: str) -> tuple[int, int]:
    with db.transaction() as s:
        client = ClientRow(name="Piekarnia Złoty Kłos", email="biuro@zlotyklos.pl")
        s.add(client)
        s.flush()
        contact = ContactRow(name="Ewa Nowak", email=address, client_id=client.id)
        s.add(contact)
        s.flush()
        return client.id, contact.id


def test_same_message_id_twice_gives_the_first_result(db: Database, ctx: IntakeContext) -> None:
    raw = make_mail(message_id="abc-1@klient.pl")
    with db.transaction() as s:
        first = ingest_mail(s, ctx, raw)
    # Another copy of the same mail (a second delivery, re-wrapped by a relay).
    again = make_mail(message_id="abc-1@klient.pl", body="ta sama wiadomość, inna treść")
    with db.transaction() as s:
        second = ingest_mail(s, ctx, again)
    assert first.outcome == "call" and not first.duplicate
    assert second.duplicate and second.call_id == first.call_id
    assert _count(db, IntakeCallRow) == 1


def test_mail_without_message_id_deduplicates_on_raw_bytes(
    db: Database, ctx: IntakeContext
) -> None:
    raw = make_mail(message_id=None)
    with db.transaction() as s:
        first = ingest_mail(s, ctx, raw)
    with db.transaction() as s:
        second = ingest_mail(s, ctx, raw)
    with db.read() as s:
        call = s.get(IntakeCallRow, first.call_id)
        assert call is not None and call.message_id == f"sha256:{call.raw_sha256}"
    assert second.duplicate and second.call_id == first.call_id
    assert _count(db, IntakeCallRow) == 1


def test_unreadable_input_is_quarantined_with_its_bytes_and_the_batch_goes_on(
    db: Database, ctx: IntakeContext
) -> None:
    garbage = b"\x00\x01\x02 this is not a mail at all \xff\xfe"
    good = make_mail()
    results = []
    for raw in (garbage, good):
        with db.transaction() as s:
            results.append(ingest_mail(s, ctx, raw, source_info={"test": True}))
    assert results[0].outcome == "quarantined" and results[1].outcome == "call"
    with db.read() as s:
        row = s.scalars(select(QuarantineRow)).one()
        assert "parse error" in row.reason and row.source_info == {"test": True}
        assert [q.id for q in list_quarantine(s)] == [row.id]
        raw_sha256 = row.raw_sha256
    assert ctx.blobs.get(raw_sha256) == garbage
    with db.transaction() as s:  # the same garbage again is not a second entry
        assert ingest_mail(s, ctx, garbage).duplicate
    assert _count(db, QuarantineRow) == 1


def test_ham_from_known_contact_becomes_a_ticket_with_an_ack(
    db: Database, ctx: IntakeContext
) -> None:
    client_id, contact_id = _known_contact(db, "ewa.nowak@zlotyklos.pl")
    raw = make_mail(
        sender="Ewa.Nowak@zlotyklos.pl",
        subject="Nie drukuje się faktura",
        message_id="orig-1@zlotyklos.pl",
        attachment=("zrzut.pdf", b"%PDF-1.4 zrzut ekranu"),
    )
    with db.transaction() as s:
        result = ingest_mail(s, ctx, raw)
    assert result.status == "accepted" and result.ticket_id is not None
    with db.read() as s:
        call = s.get(IntakeCallRow, result.call_id)
        assert call is not None and call.client_id == client_id and call.contact_id == contact_id
        from tickets.core.services import get_ticket

        ticket = get_ticket(s, result.ticket_id)
        number = ticket.number
        assert number.startswith("ZS/") and ticket.client_id == client_id
        assert ticket.title == "Nie drukuje się faktura" and ticket.submission_mode == "email"
        inbound = s.scalars(
            select(TicketMessageRow).where(
                TicketMessageRow.ticket_id == ticket.id, TicketMessageRow.direction == "in"
            )
        ).one()
        assert inbound.call_id == call.id and inbound.message_id == "orig-1@zlotyklos.pl"
        attachment = s.scalars(select(AttachmentRow)).one()
        assert attachment.ticket_id == ticket.id and attachment.message_id == inbound.id
        assert attachment.content_type == "application/pdf"
    (payload,) = _jobs(db, SEND_MAIL_JOB)
    assert payload["to"] == ["ewa.nowak@zlotyklos.pl"]
    assert payload["subject"] == f"[{number}] Nie drukuje się faktura"
    assert str(payload["message_id"]).endswith("@sedno.test>")
    headers = payload["headers"]
    assert isinstance(headers, dict)
    assert headers["In-Reply-To"] == "<orig-1@zlotyklos.pl>"
    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["X-Sedno-Loop"] == "sedno.test"
    text = str(payload["text"])
    assert number in text and "Zarejestrowaliśmy" in text


def test_auto_accept_can_be_switched_off(db: Database, tmp_path: object) -> None:
    from tests.integration.conftest import make_settings

    settings = make_settings(tmp_path / "d", db, SEDNO_AUTO_ACCEPT_KNOWN="false")  # type: ignore[operator]
    _known_contact(db, "ewa@zlotyklos.pl")
    with db.transaction() as s:
        result = ingest_mail(s, IntakeContext(settings), make_mail(sender="ewa@zlotyklos.pl"))
    assert result.status == "pending"


def test_accept_moves_the_call_onto_a_ticket_once(db: Database, ctx: IntakeContext) -> None:
    raw = make_mail(attachment=("dane.bin", b"\x00\x01binary"))
    with db.transaction() as s:
        result = ingest_mail(s, ctx, raw)
    assert result.status == "pending" and result.call_id is not None
    with db.transaction() as s:
        ticket = accept_call(
            s,
            ctx,
            AGENT,
            result.call_id,
            TicketCreate(title="Faktura — błąd zapisu", priority="wysoki"),
        )
        ticket_id, number = ticket.id, ticket.number
    with db.read() as s:
        call = get_call(s, result.call_id)
        assert call.status == "accepted" and call.ticket_id == ticket_id
        assert call.decided_by == "Anna Konsultantka"
        assert [a["filename"] for a in call.attachments] == ["dane.bin"]
        messages = s.scalars(
            select(TicketMessageRow).where(TicketMessageRow.ticket_id == ticket_id)
        ).all()
        assert {m.direction for m in messages} == {"in", "out"}
        history = [
            h.action
            for h in s.scalars(
                select(TicketHistoryRow).where(TicketHistoryRow.ticket_id == ticket_id)
            )
        ]
        assert "created_from_call" in history
        assert s.scalars(select(AttachmentRow)).one().ticket_id == ticket_id
    assert number.startswith("ZS/")
    assert [j["is_spam"] for j in _jobs(db, SPAM_LEARN_JOB)] == [False]
    # Told on arrival (with the call's reference), then given the ticket number.
    assert [j["purpose"] for j in _jobs(db, SEND_MAIL_JOB)] == ["received", "ack"]
    with db.transaction() as s, pytest.raises(Conflict):
        accept_call(s, ctx, AGENT, result.call_id)


def test_obvious_spam_is_dropped_visible_and_restorable_for_30_days(
    db: Database, ctx: IntakeContext
) -> None:
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(subject="Okazja", body=f"Kup teraz {GTUBE}"))
    assert result.classification == "spam" and result.status == "dropped"
    call_id = result.call_id
    assert call_id is not None
    with db.read() as s:
        page = list_calls(s, status="dropped")
        assert [c.id for c in page.items] == [call_id]
        assert page.items[0].auto_dropped and page.items[0].drop_reason == "spam"
    with db.transaction() as s:
        restored = restore_call(s, AGENT, call_id)
        assert restored.status == "pending"
    # A restore teaches the model that it was ham after all.
    assert [j["is_spam"] for j in _jobs(db, SPAM_LEARN_JOB)] == [False]
    with db.transaction() as s:
        call = drop_call(s, AGENT, call_id, "spam")
        assert call.dropped_at is not None
        call.dropped_at = call.dropped_at - dt.timedelta(days=31)
    with db.read() as s:
        assert list_calls(s, status="dropped").total == 0
    with db.transaction() as s, pytest.raises(Conflict):
        restore_call(s, AGENT, call_id)


def test_drop_reasons(db: Database, ctx: IntakeContext) -> None:
    ids: list[int] = []
    for _ in range(3):
        with db.transaction() as s:
            call_id = ingest_mail(s, ctx, make_mail()).call_id
            assert call_id is not None
            ids.append(call_id)
    with db.transaction() as s, pytest.raises(ValidationFailed):
        drop_call(s, AGENT, ids[0], "boring")
    with db.transaction() as s:
        drop_call(s, AGENT, ids[0], "not_ours")
        drop_call(s, AGENT, ids[1], "duplicate")
        drop_call(s, AGENT, ids[2], "spam")
    assert _jobs(db, SPAM_LEARN_JOB) == [{"call_id": ids[2], "is_spam": True}]
    with db.read() as s:
        assert list_calls(s, status="pending").total == 0
        assert {c.drop_reason for c in list_calls(s, status="dropped").items} == {
            "not_ours",
            "duplicate",
            "spam",
        }


@pytest.mark.parametrize(
    ("headers", "sender", "label"),
    [
        ({"Auto-Submitted": "auto-replied"}, "jan@klient.pl", "auto_reply"),
        ({"Return-Path": "<>"}, "mailer-daemon@mx.klient.pl", "bounce"),
        ({"X-Sedno-Loop": "sedno.test"}, "jan@klient.pl", "loop"),
    ],
)
def test_automatic_mail_gets_no_acknowledgement(
    db: Database, ctx: IntakeContext, headers: dict[str, str], sender: str, label: str
) -> None:
    _known_contact(db, sender)  # even from a known address: no auto-accept, no ack
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(sender=sender, headers=headers))
    assert result.classification == label and result.status == "pending"
    with db.transaction() as s:
        accept_call(s, ctx, AGENT, result.call_id)  # type: ignore[arg-type]
    assert _jobs(db, SEND_MAIL_JOB) == []


def test_spam_gets_no_acknowledgement_even_when_accepted(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(body=GTUBE))
        restore_call(s, AGENT, result.call_id)  # type: ignore[arg-type]
        accept_call(s, ctx, AGENT, result.call_id)  # type: ignore[arg-type]
    assert _jobs(db, SEND_MAIL_JOB) == []


def test_acknowledgements_are_limited_per_sender_per_day(db: Database, ctx: IntakeContext) -> None:
    limit = ctx.settings.ack_max_per_sender_per_day
    for i in range(limit + 2):
        with db.transaction() as s:
            result = ingest_mail(s, ctx, make_mail(sender="jan@klient.pl", subject=f"Sprawa {i}"))
            accept_call(s, ctx, AGENT, result.call_id)  # type: ignore[arg-type]
    purposes = [j["purpose"] for j in _jobs(db, SEND_MAIL_JOB)]
    # One acknowledgement on arrival an hour; the ticket numbers up to the daily limit.
    assert (purposes.count("received"), purposes.count("ack")) == (1, limit)
    with db.read() as s:
        notes = s.scalars(
            select(TicketHistoryRow.note).where(TicketHistoryRow.action == "acknowledgement")
        ).all()
    assert sum("limit" in n for n in notes) == 2


def test_phone_event_appears_in_the_queue_as_an_accepted_call(db: Database) -> None:
    with db.transaction() as s:
        event = register_phone_event(
            s,
            AGENT,
            PhoneEventCreate(
                title="Telefon: nie działa eksport JPK", contact_email="Jan@Klient.pl"
            ),
        )
        call = log_phone_call(s, event, AGENT)
        event_id, call_id = event.id, call.id
    with db.read() as s:
        page = list_calls(s, source="phone")
    assert [(c.id, c.status, c.ticket_id, c.sender) for c in page.items] == [
        (call_id, "accepted", event_id, "jan@klient.pl")
    ]


def test_receipt_records_every_outcome(db: Database, ctx: IntakeContext) -> None:
    with db.transaction() as s:
        ingest_mail(s, ctx, make_mail())
        ingest_mail(s, ctx, b"garbage without headers")
    with db.read() as s:
        outcomes = sorted(r.outcome for r in s.scalars(select(IntakeReceiptRow)))
    assert outcomes == ["call", "quarantined"]


def test_ack_message_is_a_valid_mail(db: Database, ctx: IntakeContext) -> None:
    from intake.mailer import build_message

    with db.transaction() as s:
        result = ingest_mail(s, ctx, make_mail(subject="Zażółć gęślą jaźń"))
        accept_call(s, ctx, AGENT, result.call_id)  # type: ignore[arg-type]
    (payload,) = [j for j in _jobs(db, SEND_MAIL_JOB) if j["purpose"] == "ack"]
    parsed = email.message_from_bytes(build_message(payload).as_bytes(), policy=default)
    assert parsed["Subject"].endswith("Zażółć gęślą jaźń")
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert "Zarejestrowaliśmy" in parsed.get_content()


def test_decisions_teach_the_stored_spam_model(db: Database, ctx: IntakeContext) -> None:
    from intake.learning import make_spam_learn_handler
    from intake.orm import SpamModelRow
    from tickets.core.outbox import OutboxWorker

    ids = []
    for i in range(4):
        with db.transaction() as s:
            ids.append(ingest_mail(s, ctx, make_mail(subject=f"Sprawa {i}")).call_id)
    with db.transaction() as s:
        accept_call(s, ctx, AGENT, ids[0])  # type: ignore[arg-type]
        accept_call(s, ctx, AGENT, ids[1])  # type: ignore[arg-type]
        drop_call(s, AGENT, ids[2], "spam")  # type: ignore[arg-type]
        drop_call(s, AGENT, ids[3], "not_ours")  # type: ignore[arg-type]
    worker = OutboxWorker(db, batch_handlers={SPAM_LEARN_JOB: make_spam_learn_handler(db, ctx)})
    worker.drain()
    with db.read() as s:
        row = s.scalars(select(SpamModelRow)).one()
        prior = ctx.prior()
        assert prior is not None  # the decisions train on from the shipped prior
        assert (row.version, row.n_ham, row.n_spam) == (1, prior.n_ham + 2, prior.n_spam + 1)
        fresh = IntakeContext(ctx.settings)
        model = fresh.spam_model(s)
        assert model is not None and model.trained
    with db.read() as s:
        statuses = s.scalars(select(OutboxJobRow.status).where(OutboxJobRow.kind == SPAM_LEARN_JOB))
        assert set(statuses) == {"done"}


def test_a_stored_model_of_an_older_format_is_ignored_then_replaced(
    db: Database, ctx: IntakeContext
) -> None:
    import pickle
    import zlib

    from intake.learning import make_spam_learn_handler
    from intake.orm import SpamModelRow
    from tickets.core.outbox import OutboxWorker

    # Format 1 pickled the whole model, naming helpers that no longer exist.
    old = zlib.compress(pickle.dumps({"version": 1, "model": "SpamModel with 3 vectorizers"}))
    with db.transaction() as s:
        s.add(SpamModelRow(name="default", version=7, data=old, n_ham=900, n_spam=300))
    with db.transaction() as s:  # intake goes on with the shipped prior
        assert ctx.spam_model(s) is ctx.prior() is not None
        first = ingest_mail(s, ctx, make_mail(subject="Sprawa"))
        second = ingest_mail(s, ctx, make_mail(subject="Kup teraz", body="Tanie kredyty"))
    assert first.status == second.status == "pending"
    with db.transaction() as s:
        accept_call(s, ctx, AGENT, first.call_id)  # type: ignore[arg-type]
        drop_call(s, AGENT, second.call_id, "spam")  # type: ignore[arg-type]
    OutboxWorker(db, batch_handlers={SPAM_LEARN_JOB: make_spam_learn_handler(db, ctx)}).drain()
    with db.read() as s:
        row = s.scalars(select(SpamModelRow)).one()
        prior = ctx.prior()
        assert prior is not None  # replaced by the prior plus the two decisions
        assert (row.version, row.n_ham, row.n_spam) == (8, prior.n_ham + 1, prior.n_spam + 1)
        model = IntakeContext(ctx.settings).spam_model(s)
        assert model is not None and model.trained
