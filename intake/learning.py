"""The stored spam model: saving a new version, and the outbox job that teaches it.

Every accept (ham), drop as spam and restore of a spam drop (ham) queues `intake.spam_learn`;
the handler folds a whole batch of decisions into one model update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy.orm import Session

from intake.context import SPAM_MODEL_NAME, IntakeContext
from intake.orm import IntakeCallRow, SpamModelRow
from intake.parse import ParsedMail, ParseError, parse_mail
from intake.spam import SpamModel, load_stored_model, prior_model
from tickets.core.db import Database
from tickets.core.outbox import BatchHandler, OutboxJob

SPAM_LEARN_JOB: Final = "intake.spam_learn"


def store_spam_model(session: Session, model: SpamModel) -> int:
    """Save a model as the current one; return its version."""
    row = session.get(SpamModelRow, SPAM_MODEL_NAME, with_for_update=True)
    data = model.to_bytes()
    if row is None:
        row = SpamModelRow(name=SPAM_MODEL_NAME, version=1, data=data)
        session.add(row)
    else:
        row.version += 1
        row.data = data
    row.n_ham, row.n_spam = model.n_ham, model.n_spam
    session.flush()
    return row.version


def make_spam_learn_handler(db: Database, ctx: IntakeContext) -> BatchHandler:
    """Batch handler for `intake.spam_learn` jobs: one model update per batch of decisions.

    The first decisions train on from the shipped prior; a stored model of an older format
    cannot learn on: the prior replaces it. SpamAssassin's rule hits kept with the call are
    learned with the mail.
    """

    def learn(jobs: Sequence[OutboxJob]) -> None:
        mails: list[ParsedMail] = []
        labels: list[bool] = []
        rules: list[list[str]] = []
        with db.read() as session:
            for job in jobs:
                call = session.get(IntakeCallRow, int(job.payload["call_id"]))
                if call is None or not call.raw_sha256 or not ctx.blobs.exists(call.raw_sha256):
                    continue
                try:
                    mails.append(parse_mail(ctx.blobs.get(call.raw_sha256)))
                except ParseError:
                    continue
                labels.append(bool(job.payload["is_spam"]))
                rules.append(list((call.source_info or {}).get("spamassassin_rules") or []))
        if not mails:
            return
        with db.transaction() as session:
            row = session.get(SpamModelRow, SPAM_MODEL_NAME, with_for_update=True)
            stored = load_stored_model(row.data if row is not None else None)
            model = stored or prior_model() or SpamModel()
            model.learn_many(mails, labels, rules=rules)
            store_spam_model(session, model)

    return learn
