"""Spam evaluation: train on folders of mails, classify test folders through classify()."""

from __future__ import annotations

import hashlib
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import msgspec

from intake.classify import ClassifyContext, classify
from intake.parse import ParsedMail, ParseError, parse_mail
from intake.spam import SpamModel

# The evaluation mailbox: no test mail can carry it, so no loop rule fires by accident.
_EVAL_DOMAIN = "sedno-eval.invalid"


class SpamEvalReport(msgspec.Struct, frozen=True, kw_only=True):
    """Spam is the positive class: precision and recall of the label `spam`.

    false_positive_rate is the share of test ham labelled spam; ham labelled auto_reply,
    bounce or loop is not spam for it, and the labels are counted in ham_labels/spam_labels.
    """

    precision: float
    recall: float
    f1: float
    false_positive_rate: float
    n_train_ham: int
    n_train_spam: int
    n_test_ham: int
    n_test_spam: int
    true_positives: int
    false_positives: int
    false_negatives: int
    unparseable: int
    ham_labels: dict[str, int]
    spam_labels: dict[str, int]
    seconds: float


def _mail_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def _parse_folder(folder: Path) -> tuple[list[ParsedMail], int]:
    mails: list[ParsedMail] = []
    failed = 0
    for path in _mail_files(folder):
        try:
            mails.append(parse_mail(path.read_bytes()))
        except ParseError:
            failed += 1
    return mails, failed


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def run_spam_eval(
    train_ham: Path, train_spam: Path, test_ham: Path, test_spam: Path, epochs: int = 5
) -> SpamEvalReport:
    """Train a fresh SpamModel on the train folders and score the test folders."""
    started = time.perf_counter()
    ham, failed_ham = _parse_folder(train_ham)
    spam, failed_spam = _parse_folder(train_spam)
    model = SpamModel()
    model.learn_many(ham + spam, [False] * len(ham) + [True] * len(spam), epochs=epochs)
    ctx = ClassifyContext(own_domain=_EVAL_DOMAIN, spam_model=model)

    test_ham_mails, failed_test_ham = _parse_folder(test_ham)
    test_spam_mails, failed_test_spam = _parse_folder(test_spam)
    ham_labels = Counter(classify(mail, ctx).label for mail in test_ham_mails)
    spam_labels = Counter(classify(mail, ctx).label for mail in test_spam_mails)

    true_positives = spam_labels["spam"]
    false_positives = ham_labels["spam"]
    false_negatives = len(test_spam_mails) - true_positives
    precision = _ratio(true_positives, true_positives + false_positives)
    recall = _ratio(true_positives, len(test_spam_mails))
    return SpamEvalReport(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        false_positive_rate=_ratio(false_positives, len(test_ham_mails)),
        n_train_ham=len(ham),
        n_train_spam=len(spam),
        n_test_ham=len(test_ham_mails),
        n_test_spam=len(test_spam_mails),
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
        unparseable=failed_ham + failed_spam + failed_test_ham + failed_test_spam,
        ham_labels=dict(sorted(ham_labels.items())),
        spam_labels=dict(sorted(spam_labels.items())),
        seconds=time.perf_counter() - started,
    )


def split_for_development(corpus: Path, dest: Path, test_share: float = 0.3) -> dict[str, Path]:
    """Deterministic train/test split of `corpus/{ham,spam}` into folders of symlinks.

    A file goes to test when the SHA-256 of its name falls in the first `test_share` of the
    range, so the split never depends on listing order. Returns the four folders by name.
    """
    folders = {name: dest / name for name in ("train_ham", "train_spam", "test_ham", "test_spam")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for kind in ("ham", "spam"):
        for path in _mail_files(corpus / kind):
            digest = int.from_bytes(hashlib.sha256(path.name.encode()).digest()[:8], "big")
            side = "test" if digest / 2**64 < test_share else "train"
            link = folders[f"{side}_{kind}"] / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    return folders


def print_spam_eval(report: SpamEvalReport, out: TextIO = sys.stdout) -> None:
    """A readable summary; the last line is `precision recall f1 false_positive_rate`."""
    print(
        f"train: {report.n_train_ham} ham, {report.n_train_spam} spam; "
        f"test: {report.n_test_ham} ham, {report.n_test_spam} spam; "
        f"unparseable: {report.unparseable}; {report.seconds:.1f} s",
        file=out,
    )
    print(f"test ham labelled: {report.ham_labels}", file=out)
    print(f"test spam labelled: {report.spam_labels}", file=out)
    print(
        f"spam caught {report.true_positives}, missed {report.false_negatives}; "
        f"ham called spam {report.false_positives}",
        file=out,
    )
    print(
        f"{report.precision:.4f} {report.recall:.4f} {report.f1:.4f} "
        f"{report.false_positive_rate:.4f}",
        file=out,
    )


def spam_eval_main(
    train_ham: Path, train_spam: Path, test_ham: Path, test_spam: Path, out: TextIO = sys.stdout
) -> SpamEvalReport:
    """Entry point for `sedno intake spam-eval`: run, print, return the report."""
    report = run_spam_eval(train_ham, train_spam, test_ham, test_spam)
    print_spam_eval(report, out)
    return report
