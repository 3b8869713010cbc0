"""Fixtures of the intake tests: a real Dovecot, a real SMTP server, settings wired to them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from intake.context import IntakeContext
from tests.services.dovecot import Dovecot, DovecotUnavailable, dovecot_server
from tests.services.smtp import SmtpServer, smtp_server
from tests.services.spamd import Spamd, SpamdUnavailable, spamd_server
from tickets.core.db import Database
from tickets.core.settings import ImapSettings, Settings, load_settings


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the session; each test gets its own mailbox user."""
    try:
        with dovecot_server() as server:
            yield server
    except DovecotUnavailable as exc:
        pytest.skip(f"no Dovecot: {exc}")


@pytest.fixture
def mailbox(dovecot: Dovecot) -> ImapSettings:
    """A fresh, empty mailbox on the shared Dovecot."""
    user = f"u{uuid.uuid4().hex[:10]}"
    dovecot.add_user(user)
    return ImapSettings(
        host=dovecot.host, port=dovecot.port, user=user, password=dovecot.password, ssl=False
    )


@pytest.fixture(scope="session")
def spamd() -> Iterator[Spamd]:
    """One real SpamAssassin spamd for the session (local rules only)."""
    try:
        with spamd_server() as server:
            yield server
    except SpamdUnavailable as exc:
        pytest.skip(f"no spamd: {exc}")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def intake_env(data_dir: Path, db: Database) -> dict[str, str]:
    return {
        "SEDNO_DATA_DIR": str(data_dir),
        "SEDNO_DATABASE_URL": db.url,
        "SEDNO_MAIL_FROM": "Pomoc Sedno <pomoc@sedno.test>",
        "SEDNO_SECRET_KEY": "test-secret",
    }


def make_settings(
    data_dir: Path,
    db: Database,
    *,
    imap: ImapSettings | None = None,
    smtp: SmtpServer | None = None,
    **env: str,
) -> Settings:
    values = intake_env(data_dir, db)
    if imap is not None:
        values.update(
            SEDNO_IMAP_HOST=imap.host,
            SEDNO_IMAP_PORT=str(imap.port),
            SEDNO_IMAP_USER=imap.user,
            SEDNO_IMAP_PASSWORD=imap.password,
            SEDNO_IMAP_SSL="false",
        )
    if smtp is not None:
        values.update(SEDNO_SMTP_HOST=smtp.host, SEDNO_SMTP_PORT=str(smtp.port))
    values.update(env)
    return load_settings(values)


@pytest.fixture
def intake_settings(tmp_path: Path, db: Database) -> Settings:
    return make_settings(tmp_path / "data", db)


@pytest.fixture
def ctx(intake_settings: Settings) -> IntakeContext:
    """An intake context on the parametrised `db` (SQLite and PostgreSQL)."""
    return IntakeContext(intake_settings)


def make_mail(
    *,
    sender: str = "jan.kowalski@klient.pl",
    name: str = "Jan Kowalski",
    to: str = "pomoc@sedno.test",
    subject: str = "Błąd przy wystawianiu faktury",
    body: str = "Dzień dobry,\nprogram zgłasza błąd przy zapisie faktury.\nPozdrawiam",
    message_id: str | None = "auto",
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    """A raw RFC 822 mail for tests; `message_id="auto"` makes a unique one, None omits it."""
    from email.message import EmailMessage
    from email.utils import formataddr, formatdate

    message = EmailMessage()
    message["From"] = formataddr((name, sender))
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    if message_id == "auto":
        message_id = f"{uuid.uuid4().hex}@klient.pl"
    if message_id is not None:
        message["Message-ID"] = f"<{message_id}>"
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    if attachment is not None:
        filename, data = attachment
        message.add_attachment(
            data, maintype="application", subtype="octet-stream", filename=filename
        )
    return message.as_bytes()
