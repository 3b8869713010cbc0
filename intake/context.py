"""What intake needs besides a session: settings, the blob store, the current spam model
(the stored one, else the shipped prior), spamd, the acknowledgement templates."""

from __future__ import annotations

import threading
import time
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import form as web_form
from intake.ack import AckTemplates
from intake.orm import SpamModelRow
from intake.settings import IntakeSettings
from intake.spam import SpamModel, load_stored_model, prior_model
from intake.spamd import SpamdClient
from tickets.core.attachments import BlobStore
from tickets.core.settings import Settings

SPAM_MODEL_NAME: Final = "default"
MODEL_RECHECK_S: Final = 2.0
"""How often ingest looks for a newer stored spam model."""


class IntakeContext:
    """One per process: settings, the blob store, and the stored spam model, cached."""

    def __init__(
        self,
        settings: Settings,
        *,
        blobs: BlobStore | None = None,
        spam_model: SpamModel | None = None,
        form_limits: web_form.FormLimits = web_form.DEFAULT_LIMITS,
        intake: IntakeSettings | None = None,
    ) -> None:
        self.settings = settings
        self.intake = intake or IntakeSettings()
        self.blobs = blobs or BlobStore(settings.data_dir / "blobs")
        self.form_limits = form_limits
        self._fixed_model = spam_model
        self._prior: SpamModel | None = None
        self.templates = AckTemplates(self.intake.template_dir)
        self.spamd = (
            SpamdClient(settings.spamd_host, settings.spamd_port) if settings.spamd_host else None
        )
        self._model: SpamModel | None = None
        self._model_version: int | None = None
        self._model_checked = -1e9
        self._lock = threading.Lock()
        mail_from = settings.mail_from.rsplit("<", 1)[-1].strip(" >").lower()
        self.own_addresses: tuple[str, ...] = (mail_from,) if "@" in mail_from else ()
        if settings.imap and "@" in settings.imap.user:
            self.own_addresses += (settings.imap.user.lower(),)

    def spam_model(self, session: Session) -> SpamModel | None:
        """The stored model, reloaded only when its version changed; the shipped prior when
        there is none or it is of an older format (the next queue decision trains on from
        the prior)."""
        if self._fixed_model is not None:
            return self._fixed_model
        if time.monotonic() - self._model_checked < MODEL_RECHECK_S:
            return self._model or self.prior()
        version = session.scalar(
            select(SpamModelRow.version).where(SpamModelRow.name == SPAM_MODEL_NAME)
        )
        with self._lock:
            if version != self._model_version:
                data = session.scalar(
                    select(SpamModelRow.data).where(SpamModelRow.name == SPAM_MODEL_NAME)
                )
                self._model = load_stored_model(data)
                self._model_version = version
            self._model_checked = time.monotonic()
            return self._model or self.prior()

    def prior(self) -> SpamModel | None:
        """The shipped prior, loaded once."""
        if self._prior is None:
            self._prior = prior_model()
        return self._prior
