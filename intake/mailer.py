"""The outbox handler that sends `mail.send` jobs over SMTP.

Failures are split as the outbox expects: anything that may pass later (server down, refused
connection, timeouts, 4xx answers) raises `RetryLater`, so a mail is never dropped; a 5xx
rejection of the message or all its recipients raises `PermanentFailure` (the job is kept as
`dead`, with the reason). When SMTP is not configured the job stays pending (`RetryLater`
hourly): configuring SMTP and calling `outbox.retry_now(session, "mail.send")` sends it. A
payload carrying `expires_at` (acknowledgements) that is past it fails permanently instead of
reaching the customer days late.

With the database given, every recipient is checked when the job runs, with the latest data
(`intake.suppression.blocked_reason`): nothing goes to a do-not-contact client, partner or
their contacts (unless the payload says `staff`: a notice to a Sedno user about such a ticket),
to a bouncing address or to one that complained. Such a recipient is left
out; the ticket's history says "nie wysłano: Zakaz kontaktu" (or why else), and a mail left
with no recipient is not sent at all. This covers every automatic mail, whoever queued it.

The outbox runs a job at least once: a crash between the SMTP `DATA` and marking the job done
sends the same mail again, with the same Message-ID, which mail clients show once.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from typing import Any, Final

from intake.suppression import NOT_SENT, blocked_reason
from tickets.core.attachments import BlobStore
from tickets.core.db import Database, utcnow
from tickets.core.orm import TicketRow
from tickets.core.outbox import OutboxJob, PermanentFailure, RetryLater
from tickets.core.schemas import SYSTEM
from tickets.core.services import record
from tickets.core.settings import Settings, SmtpSettings
from tickets.notices.optout import with_footer

log = logging.getLogger("sedno.mail")

NOT_CONFIGURED_RETRY_S: Final = 3600.0
SMTP_TIMEOUT_S: Final = 30.0


_LINE_BREAKS: Final = re.compile(r"[\r\n\u2028\u2029\x85\v\f]+")


def one_line(value: str) -> str:
    """A header value never carries a line break (it would start a header of its own)."""
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


_ONE_ADDRESS: Final = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+$")


def recipients(payload: dict[str, Any], field: str) -> list[str]:
    """The payload's `to` or `cc`, each exactly one bare address (ValueError otherwise).

    Input is checked strictly where it enters (`tickets.core.schemas.one_address`); this is the last
    guard for jobs written before that, or by code that forgot: a list or a line break in one
    value would mail other people or forge headers."""
    found = []
    for value in payload.get(field) or []:
        if not isinstance(value, str) or not _ONE_ADDRESS.match(value):
            raise ValueError(f"{field} {value!r} is not one e-mail address")
        found.append(value)
    return found


def build_message(payload: dict[str, Any], blobs: BlobStore | None = None) -> EmailMessage:
    """The RFC 5322 message described by a `mail.send` payload (ValueError if it cannot be);
    attachments naming a stored file (`sha256`) are read from `blobs`."""
    message = EmailMessage()
    message["From"] = one_line(payload["from"])
    message["To"] = ", ".join(recipients(payload, "to"))
    if payload.get("cc"):
        message["Cc"] = ", ".join(recipients(payload, "cc"))
    message["Subject"] = one_line(payload["subject"])
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = one_line(payload["message_id"])
    for name, value in (payload.get("headers") or {}).items():
        message[one_line(name)] = one_line(str(value))
    message.set_content(payload.get("text") or "", charset="utf-8")
    if payload.get("html"):
        message.add_alternative(payload["html"], subtype="html", charset="utf-8")
    for attachment in payload.get("attachments") or ():
        if "sha256" in attachment:
            _attach_file(message, attachment, blobs)
        else:
            _attach_text(message, attachment)
    return message


def _attach_file(
    message: EmailMessage, attachment: dict[str, Any], blobs: BlobStore | None
) -> None:
    """A file of the ticket: `{filename, content_type, sha256}`, its bytes from the store."""
    if blobs is None or not blobs.exists(str(attachment["sha256"])):
        raise PermanentFailure(f"the attached file is not stored: {attachment['filename']!r}")
    maintype, _, subtype = str(attachment["content_type"]).partition("/")
    message.add_attachment(
        blobs.get(str(attachment["sha256"])),
        maintype=maintype or "application",
        subtype=subtype or "octet-stream",
        filename=str(attachment["filename"]),
    )


def _attach_text(message: EmailMessage, attachment: dict[str, Any]) -> None:
    """A text attachment of a payload: `{filename, content_type: "text/…", text, params?}`
    (an iCalendar invitation carries `params: {"method": "REQUEST"}`)."""
    maintype, _, subtype = str(attachment["content_type"]).partition("/")
    if maintype != "text" or not subtype:
        raise PermanentFailure(f"only text attachments are sent: {attachment['content_type']!r}")
    message.add_attachment(
        attachment["text"],
        subtype=subtype,
        charset="utf-8",
        filename=attachment["filename"],
        params=dict(attachment.get("params") or {}),
    )


def _expired(payload: dict[str, Any]) -> bool:
    expires = payload.get("expires_at")
    if not expires:
        return False
    return utcnow() > dt.datetime.fromisoformat(expires)


def _is_temporary(code: int) -> bool:
    return 400 <= code < 500


def send_via_smtp(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Deliver one message; raise RetryLater or PermanentFailure on failure."""
    recipients = [
        addr for _, addr in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
    ]
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_S) as client:
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.user:
                client.login(smtp.user, smtp.password)
            refused = client.send_message(message, to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(not _is_temporary(c) for c in codes):
            raise PermanentFailure(f"all recipients refused: {exc.recipients}") from exc
        raise RetryLater(f"recipients refused for now: {exc.recipients}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        # Wrong credentials are an operator's mistake to fix, not a reason to lose the mail.
        raise RetryLater(f"SMTP login failed: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPResponseException as exc:
        if _is_temporary(exc.smtp_code):
            raise RetryLater(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        raise PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise RetryLater(f"SMTP server unavailable: {type(exc).__name__}: {exc}") from exc
    if refused:
        # Some recipients got it; retrying would duplicate it for them. Keep the record.
        raise PermanentFailure(f"some recipients refused: {refused}")


def allowed_recipients(db: Database, job_id: int, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload without the recipients automatic mail may not reach, or None when none
    is left; what was left out is written to the ticket's history."""
    ticket_id = payload.get("ticket_id")
    with db.transaction() as session:
        ticket = session.get(TicketRow, int(ticket_id)) if ticket_id else None
        kept: dict[str, list[str]] = {"to": [], "cc": []}
        staff = bool(payload.get("staff"))  # a notice to a user: do-not-contact is the client's
        for field in kept:
            for address in payload.get(field) or []:
                _, bare = getaddresses([address])[0]
                reason = blocked_reason(session, bare or address, ticket, staff=staff)
                if reason is None:
                    kept[field].append(address)
                    continue
                if ticket is not None:
                    note = f"{NOT_SENT}: {reason} — {payload.get('purpose') or 'mail'} do {bare}"
                    record(session, ticket, SYSTEM, "mail_not_sent", new=bare, note=note)
                log.info("mail job %s: %s left out: %s", job_id, bare, reason)
    if not kept["to"] and not kept["cc"]:
        return None
    return {**payload, **kept}


def make_send_mail_handler(
    settings: Settings, db: Database | None = None, blobs: BlobStore | None = None
) -> Callable[[OutboxJob], None]:
    """The `mail.send` handler for `OutboxWorker(handlers={SEND_MAIL_JOB: ...})`; with `db`,
    recipients who must not get automatic mail are left out (see the module docstring)."""

    def send_mail(job: OutboxJob) -> None:
        payload = job.payload
        if _expired(payload):
            raise PermanentFailure(f"not sent before it expired at {payload['expires_at']}")
        if db is not None:
            allowed = allowed_recipients(db, job.id, payload)
            if allowed is None:
                return
            payload = allowed
        if settings.smtp is None:
            raise RetryLater("SMTP is not configured", delay_s=NOT_CONFIGURED_RETRY_S)
        payload = with_footer(payload, settings.public_url, settings.secret_key)
        try:
            message = build_message(payload, blobs)
        except (ValueError, KeyError, TypeError) as exc:
            # Retrying cannot mend the payload (a recipient that is no address, a missing
            # part): the job is kept as dead, with the reason, instead of failing forever.
            raise PermanentFailure(f"the mail cannot be built: {exc}") from exc
        send_via_smtp(settings.smtp, message)

    return send_mail
