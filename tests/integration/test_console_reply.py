"""A consultant's reply reaches a real SMTP server and the customer's answer threads back."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.mailer import make_send_mail_handler
from tests.integration.conftest import make_mail, make_settings
from tests.services.smtp import SmtpServer
from tickets.accounts.auth import create_user
from tickets.console.replies import (
    MailSender,
    Refused,
    ReplyRequest,
    attach_file,
    reply_to_customer,
)
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketMessageRow
from tickets.core.outbox import OutboxWorker
from tickets.core.schemas import Actor, TicketCreate
from tickets.core.services import create_ticket

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_reply_with_a_file_threads_the_answer_back(
    db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path / "data", db, smtp=smtp)
    blobs = BlobStore(tmp_path / "blobs")
    sender = MailSender(settings.mail_from, settings.mail_domain, settings.secret_key)
    with db.transaction() as s:
        user, _ = create_user(s, login="ania", name="Ania Konsultant", role="consultant")
        actor = Actor(user.id, user.name, "consultant")
        ticket = create_ticket(
            s, actor, TicketCreate(title="Korekta faktury", contact_email="jan@klient.pl")
        )
        ticket_id, number = ticket.id, ticket.number
        pdf = attach_file(
            s, blobs, actor, ticket_id, filename="instrukcja.pdf", data=PDF,
            declared_type="application/pdf", max_bytes=settings.attachment_max_bytes,
        )  # fmt: skip
        outcome = reply_to_customer(
            s,
            sender,
            actor,
            ticket_id,
            ReplyRequest(text="Proszę wykonać kroki z instrukcji.", attachment_ids=[pdf.id]),
        )
        assert isinstance(outcome, TicketMessageRow)
    handler = make_send_mail_handler(settings, db, blobs)
    OutboxWorker(db, {SEND_MAIL_JOB: handler}).drain()
    (received,) = smtp.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ["jan@klient.pl"]
    assert message["Subject"] == f"[{number}] Korekta faktury"
    assert message["Message-ID"].startswith(f"<sedno.{ticket_id}.")
    assert "Auto-Submitted" not in message  # a person's answer, not automatic mail
    assert "Proszę wykonać kroki z instrukcji." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "instrukcja.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == PDF

    answer = make_mail(
        sender="jan@klient.pl",
        subject=f"Re: [{number}] Korekta faktury",
        body="Dziękuję, działa.",
        headers={"In-Reply-To": message["Message-ID"], "References": message["Message-ID"]},
    )
    with db.transaction() as s:
        result = ingest_mail(s, IntakeContext(settings), answer)
    assert (result.status, result.ticket_id) == ("threaded", ticket_id)
    with db.read() as s:
        bodies = [m.body_text for m in s.query(TicketMessageRow).filter_by(ticket_id=ticket_id)]
    assert any("Dziękuję, działa." in b for b in bodies)


def test_do_not_contact_is_refused_before_anything_is_queued(
    db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    from tickets.directory.service import ClientIn, create_client

    settings = make_settings(tmp_path / "data", db, smtp=smtp)
    sender = MailSender(settings.mail_from, settings.mail_domain, settings.secret_key)
    with db.transaction() as s:
        client = create_client(s, ClientIn(name="Zakazany sp. z o.o.", do_not_contact=True))
        actor = Actor(None, "system")
        ticket = create_ticket(
            s, actor, TicketCreate(title="Pytanie", client_id=client.id, contact_email="a@z.pl")
        )
        ticket_id = ticket.id
        outcome = reply_to_customer(s, sender, actor, ticket_id, ReplyRequest(text="Dzień dobry"))
        assert isinstance(outcome, Refused) and "Zakaz kontaktu" in outcome.reason
    OutboxWorker(db, {SEND_MAIL_JOB: make_send_mail_handler(settings, db)}).drain()
    assert smtp.wait_for(1, timeout_s=0.5) == []
    with db.read() as s:
        last = s.execute(
            select(TicketHistoryRow.action, TicketHistoryRow.note)
            .filter_by(ticket_id=ticket_id)
            .order_by(TicketHistoryRow.id.desc())
        ).first()
    assert last is not None and last.action == "reply_blocked"
    assert last.note.startswith("nie wysłano: Zakaz kontaktu")
