"""The `mail.send` outbox handler against a real aiosmtpd server, and with none listening."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.ingest import ingest_mail
from intake.mailer import make_send_mail_handler
from intake.queue import accept_call
from intake.settings import IntakeSettings
from tests.integration.conftest import make_mail, make_settings
from tests.services.postgres import free_port
from tests.services.smtp import SmtpServer
from tickets.core.db import Database
from tickets.core.outbox import OutboxJobRow, OutboxWorker
from tickets.core.schemas import SYSTEM

# These tests follow the acknowledgement with the ticket number alone.
NUMBER_ACK_ONLY = IntakeSettings(ack_on_arrival=False)


def _accept_one(db: Database, ctx: IntakeContext, raw: bytes) -> str:
    with db.transaction() as s:
        result = ingest_mail(s, ctx, raw)
        return accept_call(s, ctx, SYSTEM, result.call_id).number  # type: ignore[arg-type]


def _job(db: Database) -> OutboxJobRow:
    with db.read() as s:
        row = s.scalars(select(OutboxJobRow).where(OutboxJobRow.kind == SEND_MAIL_JOB)).one()
        s.expunge(row)
        return row


def test_acknowledgement_reaches_the_smtp_server_with_our_headers(
    sqlite_db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, sqlite_db, smtp=smtp)
    ctx = IntakeContext(settings, intake=NUMBER_ACK_ONLY)
    number = _accept_one(
        sqlite_db, ctx, make_mail(subject="Eksport do JPK", message_id="m-1@klient.pl")
    )
    handler = make_send_mail_handler(settings, sqlite_db)
    worker = OutboxWorker(sqlite_db, {SEND_MAIL_JOB: handler})
    worker.drain()
    (received,) = smtp.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ["jan.kowalski@klient.pl"]
    assert message["Subject"] == f"[{number}] Eksport do JPK"
    assert message["Message-ID"].startswith("<sedno.") and message["Message-ID"].endswith(
        "@sedno.test>"
    )
    assert message["In-Reply-To"] == "<m-1@klient.pl>"
    assert "<m-1@klient.pl>" in message["References"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Sedno-Loop"] == "sedno.test"
    assert number in message.get_content()
    assert _job(sqlite_db).status == "done"


def test_a_dead_smtp_server_means_retry_later_never_a_lost_mail(
    sqlite_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, sqlite_db, SEDNO_SMTP_HOST="127.0.0.1", SEDNO_SMTP_PORT=str(free_port())
    )
    ctx = IntakeContext(settings, intake=NUMBER_ACK_ONLY)
    _accept_one(sqlite_db, ctx, make_mail())
    OutboxWorker(sqlite_db, {SEND_MAIL_JOB: make_send_mail_handler(settings)}).run_once()
    job = _job(sqlite_db)
    assert job.status == "pending" and job.attempts == 1
    assert job.last_error is not None and "RetryLater" in job.last_error


def test_without_smtp_settings_mail_waits_in_the_outbox(
    sqlite_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, sqlite_db)
    assert settings.smtp is None
    ctx = IntakeContext(settings, intake=NUMBER_ACK_ONLY)
    _accept_one(sqlite_db, ctx, make_mail())
    OutboxWorker(sqlite_db, {SEND_MAIL_JOB: make_send_mail_handler(settings)}).run_once()
    job = _job(sqlite_db)
    assert job.status == "pending" and "not configured" in (job.last_error or "")
