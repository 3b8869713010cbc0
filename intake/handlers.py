"""Intake's outbox handlers (sending mail, teaching the spam model) and its per-process context."""

from __future__ import annotations

from typing import Any, Protocol

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.learning import SPAM_LEARN_JOB, make_spam_learn_handler
from intake.mailer import make_send_mail_handler
from intake.settings import IntakeSettings
from tickets.core.runtime import Runtime


class IntakeRuntime(Runtime, Protocol):
    """Intake's needs: the process parts, its settings and its one context."""

    @property
    def intake(self) -> IntakeSettings: ...

    @property
    def intake_ctx(self) -> IntakeContext: ...


def intake_settings(container: IntakeRuntime) -> IntakeSettings:
    """Read once at the composition root (`SEDNO_INTAKE_*`)."""
    return container.intake


def intake_context(container: IntakeRuntime) -> IntakeContext:
    """One per process, built at the composition root: it caches the current spam model."""
    return container.intake_ctx


def register_outbox_handlers(
    container: IntakeRuntime, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    single[SEND_MAIL_JOB] = make_send_mail_handler(
        container.settings, container.db, container.blobs
    )
    batch[SPAM_LEARN_JOB] = make_spam_learn_handler(container.db, intake_context(container))
