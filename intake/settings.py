"""Intake's own settings: how long dropped calls are kept, when a reply reopens a ticket.

Read once at the composition root (`intake.handlers.intake_context`, the mailbox worker, the
scheduler) from `SEDNO_INTAKE_*`; the services get them through `IntakeContext`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec


class IntakeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Retention, follow-up, acknowledgement and size rules of the intake queue."""

    purge_dropped_after_days: int = 30
    """A dropped call (spam, not ours, duplicate) and its raw mail are deleted this many days
    after the drop (`SEDNO_INTAKE_PURGE_DROPPED_DAYS`); its dedupe receipt stays."""
    reopen_days: int = 30
    """A customer's reply to a ticket completed at most this many days ago reopens it; later,
    or to a cancelled ticket, it becomes a new call naming the earlier ticket
    (`SEDNO_INTAKE_REOPEN_DAYS`; 0 never reopens)."""
    ack_on_arrival: bool = True
    """Ham from a person gets a short acknowledgement with its reference as soon as it arrives
    (`SEDNO_INTAKE_ACK_ON_ARRIVAL`); the ticket number follows when the call is accepted."""
    ack_max_spam_score: float = 0.3
    """Ham whose spam score is at or above this gets no acknowledgement on arrival: a doubtful
    mail may carry a forged sender (`SEDNO_INTAKE_ACK_MAX_SPAM_SCORE`)."""
    ack_per_sender_per_hour: int = 1
    """Acknowledgements on arrival to one address within an hour
    (`SEDNO_INTAKE_ACK_PER_SENDER_PER_HOUR`)."""
    template_dir: Path | None = None
    """A folder whose `received.pl.txt`, `received.en.txt`, `accepted.pl.txt`,
    `accepted.en.txt` replace the shipped acknowledgement templates
    (`SEDNO_INTAKE_TEMPLATE_DIR`)."""
    mail_max_bytes: int = 100 * 1024 * 1024
    """Largest raw mail taken in (`SEDNO_INTAKE_MAIL_MAX_BYTES`): larger ones are kept in
    quarantine. Attachments over the attachment limit are left out of the call and listed;
    the raw mail keeps them."""


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or ""
    if not value.strip():
        return default
    try:
        days = int(value)
    except ValueError:
        raise ValueError(f"{name}: not a whole number of days: {value!r}") from None
    if days < 0:
        raise ValueError(f"{name}: must not be negative: {days}")
    return days


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}: not a number: {value!r}") from None
    if number < 0:
        raise ValueError(f"{name}: must not be negative: {number}")
    return number


def load_intake_settings(env: Mapping[str, str]) -> IntakeSettings:
    """IntakeSettings from the composition root's environment (`SEDNO_INTAKE_*`)."""
    return IntakeSettings(
        purge_dropped_after_days=_days(env, "SEDNO_INTAKE_PURGE_DROPPED_DAYS", 30),
        reopen_days=_days(env, "SEDNO_INTAKE_REOPEN_DAYS", 30),
        ack_on_arrival=(env.get("SEDNO_INTAKE_ACK_ON_ARRIVAL") or "1").strip().lower()
        not in ("0", "false", "no", "off"),
        ack_max_spam_score=_number(env, "SEDNO_INTAKE_ACK_MAX_SPAM_SCORE", 0.3),
        ack_per_sender_per_hour=int(_number(env, "SEDNO_INTAKE_ACK_PER_SENDER_PER_HOUR", 1)),
        template_dir=Path(d)
        if (d := (env.get("SEDNO_INTAKE_TEMPLATE_DIR") or "").strip())
        else None,
        mail_max_bytes=int(_number(env, "SEDNO_INTAKE_MAIL_MAX_BYTES", 100 * 1024 * 1024)),
    )
