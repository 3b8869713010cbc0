"""The public web form: input shape, validation, rate limits, and the mail a submission becomes.

Rate limits are a sliding window counted in the database (the form calls of the last
`window_s` seconds, by client address and by sender address): they hold across processes and
restarts, and the rows counted are the calls themselves, so there is nothing extra to expire.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Final

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.orm import IntakeCallRow
from tickets.core.db import utcnow
from tickets.domain.errors import RateLimited, TooLarge, ValidationFailed

_EMAIL: Final = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS: Final = re.compile(r"[\r\n\u2028\u2029]+")


class FormError(ValidationFailed):
    """A submission the form refuses; `field` names the culprit (`ValidationFailed` → 4xx)."""


class FormFieldInvalid(FormError):
    """A missing or malformed field (HTTP 422)."""


class FormTooLarge(FormError, TooLarge):
    """A field over its size limit (HTTP 413); `limit` is the maximum in characters."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(field, limit)


class FormRateLimited(FormError, RateLimited):
    """Too many submissions from one address (HTTP 429 with `Retry-After: retry_after_s`).

    `field` is `client_address` (the submitter's IP) or `email` (the sender address).
    """

    def __init__(self, field: str, retry_after_s: int) -> None:
        message = f"too many submissions; try again in {retry_after_s} s"
        super().__init__(field, retry_after_s, message)


class FormSubmission(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /api/intake/form` body; `website` is a honeypot that people never fill in."""

    name: str
    email: str
    subject: str
    body: str
    licence: str | None = None
    product: str | None = None
    website: str | None = None


class FormLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Size and rate limits of the form."""

    name_max: int = 200
    email_max: int = 320
    subject_max: int = 300
    body_max: int = 20_000
    short_max: int = 64
    window_s: int = 3600
    per_client_address: int = 10
    """Submissions per window from one IP address."""
    per_sender: int = 5
    """Submissions per window naming one e-mail address."""


DEFAULT_LIMITS: Final = FormLimits()


def _one_line(value: str) -> str:
    return " ".join(_LINE_BREAKS.sub(" ", _CONTROL.sub("", value)).split())


def _check_size(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise FormTooLarge(field, limit)


def validate_submission(
    data: FormSubmission, limits: FormLimits = DEFAULT_LIMITS
) -> FormSubmission:
    """A cleaned copy of the submission, or FormFieldInvalid/FormTooLarge naming the field."""
    for field, limit in (
        ("name", limits.name_max),
        ("email", limits.email_max),
        ("subject", limits.subject_max),
        ("body", limits.body_max),
        ("licence", limits.short_max),
        ("product", limits.short_max),
        ("website", 2000),
    ):
        _check_size(field, getattr(data, field) or "", limit)
    name = _one_line(data.name)
    email = data.email.strip()
    subject = _one_line(data.subject)
    body = _CONTROL.sub("", data.body).replace("\r\n", "\n").strip()
    if not name:
        raise FormFieldInvalid("name", "required")
    if not email:
        raise FormFieldInvalid("email", "required")
    if not _EMAIL.match(email):
        raise FormFieldInvalid("email", "not an e-mail address")
    if not subject:
        raise FormFieldInvalid("subject", "required")
    if not body:
        raise FormFieldInvalid("body", "required")
    local, _, domain = email.rpartition("@")
    return FormSubmission(
        name=name,
        email=f"{local}@{domain.lower()}",
        subject=subject,
        body=body,
        licence=_one_line(data.licence or "") or None,
        product=_one_line(data.product or "") or None,
        website=(data.website or "").strip() or None,
    )


def is_honeypot(data: FormSubmission) -> bool:
    return bool(data.website and data.website.strip())


def _retry_after(
    session: Session, column: object, value: str, since: dt.datetime, window_s: int
) -> int:
    oldest = session.scalar(
        select(func.min(IntakeCallRow.received_at)).where(
            IntakeCallRow.source == "form",
            column == value,  # type: ignore[arg-type]
            IntakeCallRow.received_at >= since,
        )
    )
    if oldest is None:
        return 1
    return max(1, int((oldest + dt.timedelta(seconds=window_s) - utcnow()).total_seconds()) + 1)


def check_rate(
    session: Session,
    *,
    client_address: str | None,
    email: str,
    limits: FormLimits = DEFAULT_LIMITS,
) -> None:
    """Raise FormRateLimited when the client address or the sender is over its window."""
    since = utcnow() - dt.timedelta(seconds=limits.window_s)
    checks: list[tuple[str, object, str | None, int]] = [
        ("client_address", IntakeCallRow.client_address, client_address, limits.per_client_address),
        ("email", IntakeCallRow.sender, email.lower(), limits.per_sender),
    ]
    for field, column, value, limit in checks:
        if not value:
            continue
        count = session.scalar(
            select(func.count())
            .select_from(IntakeCallRow)
            .where(
                IntakeCallRow.source == "form",
                column == value,  # type: ignore[arg-type]
                IntakeCallRow.received_at >= since,
            )
        )
        if int(count or 0) >= limit:
            raise FormRateLimited(
                field, _retry_after(session, column, value, since, limits.window_s)
            )


def submission_to_mail(
    data: FormSubmission, *, to: str, domain: str, client_address: str | None
) -> tuple[bytes, str]:
    """The raw RFC 822 mail a submission is stored and classified as, and its Message-ID."""
    message_id = f"{uuid.uuid4().hex}@form.{domain}"
    message = EmailMessage()
    message["From"] = formataddr((data.name, data.email))
    message["To"] = to
    message["Subject"] = data.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{message_id}>"
    message["X-Sedno-Source"] = "form"
    if client_address:
        message["X-Sedno-Client-Address"] = _one_line(client_address)[:64]
    if data.licence:
        message["X-Sedno-Licence"] = data.licence
    if data.product:
        message["X-Sedno-Product"] = data.product
    message.set_content(data.body, charset="utf-8")
    return message.as_bytes(), message_id
