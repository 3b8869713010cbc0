"""No header value of an outgoing mail carries CR/LF, and a job that can never be built dies
with its reason instead of retrying forever (issue 14, item 6)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB
from intake.mailer import make_send_mail_handler
from tests.integration.conftest import make_settings
from tests.services.smtp import SmtpServer
from tickets.core.db import Database
from tickets.core.outbox import OutboxJobRow, OutboxWorker, enqueue


def _mail(**changes: object) -> dict[str, object]:
    return {
        "from": "Sedno <pomoc@sedno.test>",
        "to": ["jan@klient.pl"],
        "subject": "[ZS/2026/1] Faktura",
        "message_id": "<sedno.1@sedno.test>",
        "text": "Treść",
        **changes,
    }


def _run(db: Database, tmp_path: Path, smtp: SmtpServer | None, payload: dict[str, object]) -> str:
    with db.transaction() as s:
        row = enqueue(s, SEND_MAIL_JOB, payload)
        s.flush()
        job_id = row.id
    settings = make_settings(tmp_path, db, smtp=smtp)
    OutboxWorker(db, {SEND_MAIL_JOB: make_send_mail_handler(settings)}).run_once()
    with db.read() as s:
        job = s.scalars(select(OutboxJobRow).where(OutboxJobRow.id == job_id)).one()
        return f"{job.status}: {job.last_error or ''}"


def test_a_recipient_with_a_line_break_kills_the_job_once(
    sqlite_db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    """Such a job (written before addresses were checked) used to fail and retry forever."""
    outcome = _run(sqlite_db, tmp_path, smtp, _mail(to=["a@klient.pl\r\nBcc: ofiara@evil.pl"]))
    assert outcome.startswith("dead: "), outcome
    assert "not one e-mail address" in outcome
    outcome = _run(sqlite_db, tmp_path, smtp, _mail(to=["a@klient.pl, ofiara@evil.pl"]))
    assert outcome.startswith("dead: "), outcome
    assert smtp.messages == []


def test_line_breaks_in_subject_and_headers_become_spaces(
    sqlite_db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    payload = _mail(
        subject="Faktura\r\nBcc: ofiara@evil.pl", headers={"In-Reply-To": "<a@b>\nX-Evil: 1"}
    )
    assert _run(sqlite_db, tmp_path, smtp, payload).startswith("done")
    (received,) = smtp.wait_for(1)
    assert received.message["Subject"] == "Faktura Bcc: ofiara@evil.pl"
    assert received.message["Bcc"] is None and received.message["X-Evil"] is None
    assert received.rcpt_tos == ["jan@klient.pl"]
