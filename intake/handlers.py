"""Intake's outbox handlers (sending mail, teaching the spam model) and its per-process context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.learning import SPAM_LEARN_JOB, make_spam_learn_handler
from intake.mailer import make_send_mail_handler
from intake.settings import IntakeSettings, load_intake_settings

if TYPE_CHECKING:
    from api.bootstrap import Container


def intake_settings(container: Container) -> IntakeSettings:
    """Read once per process from the environment (`SEDNO_INTAKE_*`)."""
    settings = container.extras.get("intake_settings")
    if not isinstance(settings, IntakeSettings):
        settings = container.extras["intake_settings"] = load_intake_settings()
    return settings


def intake_context(container: Container) -> IntakeContext:
    """One per process: it caches the current spam model."""
    ctx: IntakeContext | None = container.extras.get("intake_ctx")
    if ctx is None:
        ctx = IntakeContext(
            container.settings, blobs=container.blobs, intake=intake_settings(container)
        )
        container.extras["intake_ctx"] = ctx
    return ctx


def register_outbox_handlers(
    container: Container, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    single[SEND_MAIL_JOB] = make_send_mail_handler(
        container.settings, container.db, container.blobs
    )
    batch[SPAM_LEARN_JOB] = make_spam_learn_handler(container.db, intake_context(container))
