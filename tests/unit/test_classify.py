"""Classification rules, the spam model's learning, and spamd as an optional signal."""

from __future__ import annotations

import asyncio
import functools
import pickle
import socket
import zlib
from pathlib import Path

import msgspec
import pytest

from intake.classify import ClassifyContext, aclassify, classify
from intake.parse import ParsedMail, parse_mail
from intake.spam import SpamModel
from intake.spamd import SpamdClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mail"
CTX = ClassifyContext(own_domain="sedno.example.pl", own_addresses=("pomoc@sedno.example.pl",))


def fixture(name: str) -> ParsedMail:
    return parse_mail((FIXTURES / name).read_bytes())


def simple(headers: str, body: str = "Dzień dobry, mam pytanie o licencję.") -> ParsedMail:
    base = "From: Klient <klient@firma.pl>\nTo: pomoc@sedno.example.pl\n"
    base += "Date: Tue, 11 Mar 2025 09:30:00 +0100\nMessage-ID: <m1@firma.pl>\n"
    return parse_mail(f"{base}{headers}\n{body}\n".encode())


@pytest.mark.parametrize(
    ("name", "label", "reason"),
    [
        ("auto-reply.eml", "auto_reply", "rfc3834-auto-submitted"),
        ("exchange-ooo.eml", "auto_reply", "out-of-office"),
        ("bounce-dsn.eml", "bounce", "delivery-status-report"),
        ("own-loop-header.eml", "loop", "own-loop-header"),
        ("own-message-id.eml", "loop", "own-message-id"),
        ("client-question.eml", "ham", "ham"),
        ("iso-8859-2.eml", "ham", "ham"),
    ],
)
def test_fixture_classification(name: str, label: str, reason: str) -> None:
    verdict = classify(fixture(name), CTX)
    assert (verdict.label, verdict.reason) == (label, reason)


def test_sender_rate_over_the_limit_is_a_loop() -> None:
    mail = fixture("client-question.eml")
    within = msgspec.structs.replace(CTX, sender_count_last_hour=30, max_per_sender_per_hour=30)
    over = msgspec.structs.replace(CTX, sender_count_last_hour=31, max_per_sender_per_hour=30)
    assert classify(mail, within).label == "ham"
    assert (classify(mail, over).label, classify(mail, over).reason) == ("loop", "sender-rate")


def test_x_loop_naming_us_is_a_loop_but_a_foreign_one_is_not() -> None:
    assert classify(simple("X-Loop: pomoc@sedno.example.pl\n"), CTX).reason == "x-loop"
    assert classify(simple("X-Loop: lista@inna.pl\n"), CTX).label == "ham"


def test_auto_submitted_no_is_a_human() -> None:
    assert classify(simple("Auto-Submitted: no\n"), CTX).label == "ham"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Auto-Submitted: auto-generated\n", "rfc3834-auto-submitted"),
        ("X-Autoreply: yes\n", "x-autoreply"),
        ("X-Autorespond: 1\n", "x-autoreply"),
        ("Subject: Automatic reply: ZS/2025/1\n", "out-of-office-subject"),
    ],
)
def test_automatic_mail(headers: str, reason: str) -> None:
    verdict = classify(simple(headers), CTX)
    assert (verdict.label, verdict.reason) == ("auto_reply", reason)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("Precedence: bulk\n", "precedence-bulk"),
        ("Precedence: list\n", "precedence-list"),
        ("List-Id: <news.firma.pl>\n", "list-headers"),
    ],
)
def test_list_and_newsletter_mail_is_bulk_not_automatic(headers: str, reason: str) -> None:
    verdict = classify(simple(headers), CTX)
    assert (verdict.label, verdict.reason) == ("bulk", reason)
    assert not verdict.automatic


def test_out_of_office_words_without_exchange_header_in_the_middle_stay_ham() -> None:
    mail = simple("Subject: Pytanie o nieobecności w module Kadry\n")
    assert classify(mail, CTX).label == "ham"


@pytest.mark.parametrize(
    "headers",
    [
        "Return-Path: <>\n",
        "Subject: Delivery Status Notification (Failure)\n",
        "Subject: Undelivered Mail Returned to Sender\n",
    ],
)
def test_bounces(headers: str) -> None:
    if "Return-Path" in headers:
        raw = f"From: MAILER-DAEMON@mx.firma.pl\n{headers}Subject: x\n\nx\n".encode()
        mail = parse_mail(raw)
    else:
        mail = simple(headers)
    assert classify(mail, CTX).label == "bounce"


def test_gtube_is_spam_by_header_rules_even_untrained() -> None:
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
    verdict = classify(simple("Subject: test\n", gtube), CTX)
    assert (verdict.label, verdict.reason) == ("spam", "spam-header-rules")


def test_untrained_model_lets_everything_through_as_ham() -> None:
    ctx = msgspec.structs.replace(CTX, spam_model=SpamModel())
    mail = simple("Subject: Cheap pills now\n", "Buy cheap pills now")
    assert SpamModel().spam_probability(mail) == 0.5
    assert classify(mail, ctx).label == "ham"


def _spam(i: int) -> ParsedMail:
    return simple(
        f"Subject: Cheap pills {i} discount offer\n",
        f"Buy cheap viagra and casino credits now, limited offer {i}, click http://pills{i}.example",
    )


def _ham(i: int) -> ParsedMail:
    return simple(
        f"Subject: Zgłoszenie {i}: błąd w module Kadry Płace\n",
        f"Dzień dobry, program zgłasza błąd przy zamykaniu miesiąca {i}. Licencja {i}.",
    )


@functools.cache
def _shared_model() -> SpamModel:
    model = SpamModel()
    model.learn_many([_spam(i) for i in range(30)] + [_ham(i) for i in range(30)],
                     [True] * 30 + [False] * 30, epochs=5)  # fmt: skip
    return model


def _trained() -> SpamModel:
    """A private copy of one trained model (training takes a second or two)."""
    return SpamModel.from_bytes(_shared_model().to_bytes())


def test_model_learns_and_classify_uses_it() -> None:
    model = _trained()
    ctx = msgspec.structs.replace(CTX, spam_model=model)
    spam = _spam(99)
    ham = _ham(99)
    assert model.spam_probability(spam) > 0.8 > 0.2 > model.spam_probability(ham)
    assert (classify(spam, ctx).label, classify(spam, ctx).reason) == ("spam", "spam-model")
    assert classify(ham, ctx).label == "ham"


def test_known_sender_leans_ham() -> None:
    ctx = msgspec.structs.replace(CTX, spam_model=_trained())
    borderline = simple("Subject: Oferta\n", "Zgłoszenie: cheap offer discount, błąd w module")
    plain = classify(borderline, ctx)
    known = classify(borderline, msgspec.structs.replace(ctx, known_sender=True))
    assert known.score < plain.score
    assert known.label == "ham"


def test_spam_with_bulk_precedence_is_spam_not_auto_reply() -> None:
    ctx = msgspec.structs.replace(CTX, spam_model=_trained())
    mail = parse_mail(
        b"From: x@pills.example\nTo: pomoc@sedno.example.pl\nPrecedence: bulk\n"
        b"Date: Tue, 11 Mar 2025 09:30:00 +0100\nMessage-ID: <s@pills.example>\n"
        b"Subject: Cheap pills 7 discount offer\n\n"
        b"Buy cheap viagra and casino credits now, limited offer, click http://pills7.example\n"
    )
    assert classify(mail, ctx).label == "spam"


def test_single_learn_moves_the_probability() -> None:
    model = _trained()
    mail = simple("Subject: Newsletter partnera\n", "Zaproszenie na webinar partnera handlowego")
    before = model.spam_probability(mail)
    for _ in range(5):
        model.learn(mail, True)
    assert model.spam_probability(mail) > before


def test_model_round_trips_through_bytes() -> None:
    model = _trained()
    copy = SpamModel.from_bytes(model.to_bytes())
    mail = _spam(5)
    assert copy.spam_probability(mail) == pytest.approx(model.spam_probability(mail))
    with pytest.raises(ValueError):
        SpamModel.from_bytes(zlib.compress(pickle.dumps({"version": 0, "model": None})))


def test_repeated_words_weigh_sublinearly() -> None:
    from intake.spam import mail_features

    once = simple("Subject: Oferta\n", "price please contact our office")
    often = simple("Subject: Oferta\n", "price please contact our office " + "price " * 20)
    idx_once, val_once = mail_features(once)
    idx_often, val_often = mail_features(often)
    raw_often = dict(zip(*mail_features(often, sublinear=False), strict=True))
    sub_often = dict(zip(idx_often, val_often, strict=True))
    shared = dict(zip(idx_once, val_once, strict=True))
    # "price" (21 times) leads both ways, but sublinearly it leaves the other words of the
    # mail much of their weight; raw counts all but erase them.
    others = [i for i in shared if i in sub_often and sub_often[i] < max(sub_often.values())]
    assert others
    assert min(sub_often[i] for i in others) > 3 * min(raw_often[i] for i in others)


def test_a_stored_model_of_format_3_keeps_raw_counts() -> None:
    import io

    import numpy as np

    model = _trained()
    data = io.BytesIO(model.to_bytes())
    with np.load(data) as stored:
        arrays = {name: stored[name] for name in stored.files}
    assert model.sublinear and int(arrays["header"][0]) == 4
    # A model a mailbox learned before format 4: four header fields, weights over raw counts.
    arrays["header"] = arrays["header"][:4].copy()
    arrays["header"][0] = 3
    old = io.BytesIO()
    np.savez_compressed(old, **arrays)
    loaded = SpamModel.from_bytes(old.getvalue())
    assert not loaded.sublinear
    mail = _spam(5)
    raw = SpamModel(sublinear=False)
    raw._coef, raw._intercept = model._coef, model._intercept
    raw.n_spam, raw.n_ham = model.n_spam, model.n_ham
    assert loaded.spam_probability(mail) == pytest.approx(raw.spam_probability(mail), abs=1e-3)
    assert SpamModel.from_bytes(model.to_bytes()).sublinear


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_spamd_down_is_skipped_not_fatal() -> None:
    spamd = SpamdClient("127.0.0.1", _closed_port(), timeout_s=1.0)
    ctx = msgspec.structs.replace(CTX, spamd=spamd)
    mail = fixture("client-question.eml")
    assert classify(mail, ctx).label == "ham"
    assert asyncio.run(aclassify(mail, ctx)).label == "ham"


def test_unreadable_or_older_stored_models_raise_value_error() -> None:
    with pytest.raises(ValueError):
        SpamModel.from_bytes(b"not a model")
    # Format 1 pickled HashingVectorizers with a helper of this module that is gone now.
    with pytest.raises(ValueError):
        SpamModel.from_bytes(zlib.compress(b"cintake.spam\n_identity\n."))
    with pytest.raises(ValueError):
        SpamModel.from_bytes(zlib.compress(pickle.dumps({"version": 1, "model": None})))
    # Format 2 pickled the whole SGDClassifier: not loaded any more (no pickles from storage).
    with pytest.raises(ValueError):
        SpamModel.from_bytes(zlib.compress(pickle.dumps({"version": 2, "classifier": None})))


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("Odp: [ZS/2026/3] Korekta — urlop", "Dzień dobry,\njestem na urlopie do 15.12.", "out-of-office-text"),
        ("Re: faktura", "I am currently out of the office with limited access to email.", "out-of-office-text"),
        ("Przeczytano: Korekta", "Wiadomość została przeczytana 1.12.2026 10:00.", "read-receipt"),
    ],
)  # fmt: skip
def test_out_of_office_and_receipts_are_recognised_by_content(
    subject: str, body: str, reason: str
) -> None:
    verdict = classify(simple(f"Subject: {subject}\n", body), CTX)
    assert (verdict.label, verdict.reason) == ("auto_reply", reason)
    assert verdict.automatic


def test_a_question_about_holiday_leave_in_payroll_stays_ham() -> None:
    body = (
        "Dzień dobry, w module Kadry Płace urlop wypoczynkowy nalicza się źle dla pracownika "
        "na pół etatu. Jak poprawić limit urlopu? Pozdrawiam"
    )
    assert classify(simple("Subject: Odp: urlop wypoczynkowy\n", body), CTX).label == "ham"


def test_a_plain_text_bounce_from_a_mail_system_is_a_bounce() -> None:
    raw = (
        b"From: Mail System <mailsystem@mx.firma.pl>\nTo: pomoc@sedno.example.pl\n"
        b"Subject: Problem z dostarczeniem\n\n"
        b"Your message could not be delivered: user unknown (jan@firma.pl).\n"
    )
    assert classify(parse_mail(raw), CTX).reason == "bounce-text"


def test_obvious_polish_spam_is_spam_without_any_model() -> None:
    mail = simple(
        "Subject: WYGRAŁEŚ!!! Odbierz nagrodę\n",
        "Wygrałeś iPhone! Tania viagra, casino bonus, bitcoin. Kliknij tutaj.",
    )
    assert classify(mail, CTX).label == "spam"
    one_phrase = simple(
        "Subject: Faktura dla kasyna\n", "Klient prowadzi kasyno, faktura nie działa."
    )
    assert classify(one_phrase, CTX).label == "ham"
