"""`spam-eval --feedback`: the test mail comes in a mailbox's order and each mail is scored
before the model learns its label."""

from __future__ import annotations

from intake.parse import parse_mail
from intake.spam_eval import EvalMail, evaluate, feedback_order


def _mail(name: str, day: int, subject: str, body: str) -> EvalMail:
    raw = (
        f"From: Nadawca <{name}@firma.pl>\nTo: pomoc@sedno.example.pl\n"
        f"Date: {day:02d} Mar 2025 09:30:00 +0100\nMessage-ID: <{name}@firma.pl>\n"
        f"Subject: {subject}\n\n{body}\n"
    )
    return EvalMail(name, parse_mail(raw.encode()))


def test_each_folder_comes_in_date_order_with_the_spam_spread_among_the_ham() -> None:
    ham = [_mail(f"h{day}", day, "Pytanie", "Dzień dobry") for day in (9, 3, 6, 1, 7, 2)]
    spam = [_mail(f"s{day}", day, "Oferta", "Tanio") for day in (5, 4)]
    order = [(m.name, is_spam) for m, is_spam in feedback_order(ham, spam)]
    assert order == [
        ("h1", False), ("h2", False), ("s4", True), ("h3", False),
        ("h6", False), ("h7", False), ("s5", True), ("h9", False),
    ]  # fmt: skip


def test_with_feedback_a_new_kind_of_spam_is_missed_once_then_caught() -> None:
    train_spam = [
        _mail(f"s{i}", 1, f"Cheap pills {i} discount offer",
              f"Buy cheap viagra and casino credits now, limited offer {i}, "
              f"click http://pills{i}.example")
        for i in range(30)
    ]  # fmt: skip
    train_ham = [
        _mail(f"h{i}", 1, f"Zgłoszenie {i}: błąd w module Kadry Płace",
              f"Dzień dobry, program zgłasza błąd przy zamykaniu miesiąca {i}. Licencja {i}.")
        for i in range(30)
    ]  # fmt: skip
    # Twenty copies of a kind of spam no training mail resembles.
    loans = [
        _mail(f"n{i}", 2 + i, "Szybka pożyczka bez BIK",
              "Szybka pożyczka bez BIK i zaświadczeń, gotówka w 15 minut, oprocentowanie zero")
        for i in range(20)
    ]  # fmt: skip
    batch = evaluate(train_ham, train_spam, [], loans)
    assert batch.recall == 0.0  # the model never learns from its test mail
    online = evaluate(train_ham, train_spam, [], loans, feedback=True)
    # The first copy is scored before anyone dropped it; the later ones after.
    assert 0.9 <= online.recall < 1.0, online.spam_labels
