"""SpamAssassin's spamd (real, Debian's package) as a second opinion: its rule hits are kept
with the call and learned by the model as features, not only its score."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from intake.classify import ClassifyContext, classify
from intake.context import IntakeContext
from intake.imap import append_message
from intake.learning import SPAM_LEARN_JOB, make_spam_learn_handler
from intake.orm import IntakeCallRow
from intake.parse import parse_mail
from intake.queue import restore_call
from intake.spam import SpamModel
from intake.spamd import SpamdClient
from tests.integration.conftest import make_mail, make_settings
from tests.integration.mailbox_helpers import scan_mailbox
from tests.services.spamd import Spamd
from tickets.core.db import Database
from tickets.core.outbox import OutboxWorker
from tickets.core.schemas import SYSTEM
from tickets.core.settings import ImapSettings

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


def test_spamd_gives_its_score_and_rule_hits(spamd: Spamd) -> None:
    client = SpamdClient(spamd.host, spamd.port, timeout_s=30.0)
    mail = parse_mail(make_mail(body=f"Zobacz {GTUBE}"))
    verdict = classify(mail, ClassifyContext(own_domain="sedno.test", spamd=client))
    assert verdict.label == "spam"
    assert verdict.spamassassin is not None
    assert verdict.spamassassin.score >= verdict.spamassassin.required
    assert "GTUBE" in verdict.spamassassin.rules


def test_rule_hits_are_kept_with_the_call_and_learned_as_features(
    tmp_path: Path, sqlite_db: Database, mailbox: ImapSettings, spamd: Spamd
) -> None:
    settings = make_settings(
        tmp_path / "data", sqlite_db, imap=mailbox, SEDNO_SPAMD_HOST=spamd.host,
        SEDNO_SPAMD_PORT=str(spamd.port),
    )  # fmt: skip
    ctx = IntakeContext(settings)
    assert ctx.spamd == SpamdClient(spamd.host, spamd.port)
    # A loaded test machine answers slower than production's 3 s budget.
    ctx.spamd = SpamdClient(spamd.host, spamd.port, timeout_s=30.0)
    html_only = (
        b"From: Promocja <promo@okazje.example>\r\nTo: pomoc@sedno.test\r\n"
        b"Subject: Oferta specjalna\r\nMessage-ID: <p1@okazje.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><font size=1>Tylko dzisiaj</font> oferta specjalna</body></html>\r\n"
    )
    append_message(mailbox, html_only)
    scan_mailbox(settings, sqlite_db, ctx)
    with sqlite_db.read() as s:
        call = s.scalars(select(IntakeCallRow)).one()
        rules = list(call.source_info["spamassassin_rules"])
        call_id, status = call.id, call.status
    assert "MIME_HTML_ONLY" in rules
    assert status == "dropped"  # spam by the prior, SpamAssassin and the header rules
    with sqlite_db.transaction() as s:
        restore_call(s, SYSTEM, call_id)  # the consultant: not spam; that teaches the model
    OutboxWorker(
        sqlite_db, batch_handlers={SPAM_LEARN_JOB: make_spam_learn_handler(sqlite_db, ctx)}
    ).drain()
    with sqlite_db.read() as s:
        model = IntakeContext(settings).spam_model(s)
    assert isinstance(model, SpamModel)
    mail = parse_mail(make_mail(subject="Zwykłe pytanie", body="Dzień dobry, pytanie."))
    # The rules that hit the restored mail now lean any mail that hits them towards ham.
    assert model.spam_probability(mail, rules) < model.spam_probability(mail)
