"""Intake's own settings: how long dropped calls are kept, when a reply reopens a ticket.

Read once at the composition root (`intake.handlers.intake_context`, the mailbox worker, the
scheduler) from `SEDNO_INTAKE_*`; the services get them through `IntakeContext`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec


class IntakeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Retention and follow-up rules of the intake queue."""

    purge_dropped_after_days: int = 30
    """A dropped call (spam, not ours, duplicate) and its raw mail are deleted this many days
    after the drop (`SEDNO_INTAKE_PURGE_DROPPED_DAYS`); its dedupe receipt stays."""
    reopen_days: int = 30
    """A customer's reply to a ticket completed at most this many days ago reopens it; later,
    or to a cancelled ticket, it becomes a new call naming the earlier ticket
    (`SEDNO_INTAKE_REOPEN_DAYS`; 0 never reopens)."""


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


def load_intake_settings(env: Mapping[str, str] | None = None) -> IntakeSettings:
    """IntakeSettings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    return IntakeSettings(
        purge_dropped_after_days=_days(env, "SEDNO_INTAKE_PURGE_DROPPED_DAYS", 30),
        reopen_days=_days(env, "SEDNO_INTAKE_REOPEN_DAYS", 30),
    )
