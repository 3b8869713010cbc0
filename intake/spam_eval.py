"""Spam evaluation: train on folders of mails, classify test folders through classify().

Beside the four-folder run (`--train-ham … --test-spam …`), `run_splits` checks that the
classifier generalises: by source (train on the SpamAssassin corpus, test on Enron business
mail, and the other way round) and by time (train on the older 70 % of every folder, test on
the newer 30 %; and the same within the SpamAssassin corpus alone, the shape of a run that
trains on one period of a corpus and is judged on a later one). Spam comes from one public
corpus only, so in the source splits it is split by a hash of the file name. Every split
trains a fresh model: the shipped prior saw all of this mail and would flatter itself.

With `feedback`, the test mail comes in a mailbox's order and the model learns each mail's
label after scoring it, as the queue's decisions teach it (the TREC spam track's online
setting): what a desk sees once its consultants accept and drop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import msgspec

from intake.classify import Classification, ClassifyContext, classify
from intake.parse import ParsedMail, ParseError, parse_mail
from intake.spam import SpamModel
from intake.spam_rule_cache import raw_sha256
from intake.spamd import SpamdClient, SpamdVerdict

# The evaluation mailbox: no test mail can carry it, so no loop rule fires by accident.
_EVAL_DOMAIN = "sedno-eval.invalid"
_TRAIN_SHARE = 0.7
DROP_THRESHOLD = 0.9
"""The default `spam_drop_threshold` of the intake settings: spam over it is auto-dropped."""
_DECIDED = frozenset({"spam", "bulk", "ham"})
"""Labels of the mail a consultant accepts or drops in the queue (the rest is automatic)."""
_COMMERCIAL = re.compile(r"unsubscribe|newsletter|opt[ -]?out|wypisa[cć]|rezygnacj", re.I)


class SpamEvalReport(msgspec.Struct, frozen=True, kw_only=True):
    """Spam is the positive class: precision and recall of the label `spam`.

    false_positive_rate is the share of test ham labelled spam; ham labelled auto_reply,
    bounce, bulk or loop is not spam for it, and the labels are counted in
    ham_labels/spam_labels. `commercial_*` count the test ham that looks commercial (an
    unsubscribe link, a newsletter), the mail a filter trained on personal mail calls spam.
    Ham called spam is held in the queue for review; `auto_dropped_false_positives` counts
    the part of it whose score would also have auto-dropped it (over `DROP_THRESHOLD`).
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
    n_test_commercial: int = 0
    commercial_false_positives: int = 0
    auto_dropped_false_positives: int = 0


class EvalMail(msgspec.Struct, frozen=True):
    """A parsed test or training mail with what spamd said about it (when asked)."""

    name: str
    mail: ParsedMail
    spamd: SpamdVerdict | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        return self.spamd.rules if self.spamd is not None else ()


def _mail_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".tsv":
            yield path


CORPUS_FOLDERS = ("spamassassin-dev/spam", "spamassassin-dev/ham", "enron-ham/ham")
"""The folders of the splits, under the corpora folder."""


def corpus_files(corpora: Path) -> list[Path]:
    """Every mail file of the splits' folders."""
    return [path for folder in CORPUS_FOLDERS for path in _mail_files(corpora / folder)]


def load_folder(
    folder: Path,
    spamd: SpamdClient | None = None,
    verdicts: Mapping[str, SpamdVerdict] | None = None,
) -> tuple[list[EvalMail], int]:
    """Every mail of a folder, parsed (and checked by spamd when given, or given spamd's
    kept `verdicts` by SHA-256 of the raw mail); and the failures."""
    mails: list[EvalMail] = []
    failed = 0
    for path in _mail_files(folder):
        raw = path.read_bytes()
        try:
            mail = parse_mail(raw)
        except ParseError:
            failed += 1
            continue
        kept = verdicts.get(raw_sha256(raw)) if verdicts is not None else None
        mails.append(EvalMail(path.name, mail, kept))
    if spamd is not None:
        answers = spamd.check_many([m.mail for m in mails])
        mails = [msgspec.structs.replace(m, spamd=v) for m, v in zip(mails, answers, strict=True)]
    return mails, failed


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _verdict(mail: EvalMail, ctx: ClassifyContext) -> Classification:
    sa = mail.spamd
    local = msgspec.structs.replace(ctx, spamassassin=sa) if sa is not None else ctx
    return classify(mail.mail, local)


def evaluate(
    train_ham: Sequence[EvalMail],
    train_spam: Sequence[EvalMail],
    test_ham: Sequence[EvalMail],
    test_spam: Sequence[EvalMail],
    *,
    unparseable: int = 0,
    epochs: int = 5,
    feedback: bool = False,
) -> SpamEvalReport:
    """Train a fresh SpamModel on the training mail and score the test mail.

    With `feedback`, the test mail comes as a mailbox gets it (`feedback_order`) and the
    model learns each mail's right label once it has scored it, as the queue teaches it: a
    consultant accepts or drops every mail labelled spam, bulk or ham, except spam over the
    auto-drop threshold, which nobody decides. Automatic mail (bounces, auto-replies) is not
    learned. Each mail is still scored before its label is learned.
    """
    started = time.perf_counter()
    train = [*train_ham, *train_spam]
    model = SpamModel()
    model.learn_many(
        [m.mail for m in train],
        [False] * len(train_ham) + [True] * len(train_spam),
        epochs=epochs,
        rules=[m.rules for m in train],
    )
    ctx = ClassifyContext(own_domain=_EVAL_DOMAIN, spam_model=model)
    if feedback:
        verdicts: dict[int, Classification] = {}  # by id(): names may repeat
        for mail, is_spam in feedback_order(test_ham, test_spam):
            verdict = verdicts[id(mail)] = _verdict(mail, ctx)
            decided = verdict.label in _DECIDED and not (
                verdict.label == "spam" and verdict.score > DROP_THRESHOLD
            )
            if decided:
                model.learn(mail.mail, is_spam, mail.rules)
        ham_verdicts = [(m, verdicts[id(m)]) for m in test_ham]
        spam_labels = Counter(verdicts[id(m)].label for m in test_spam)
    else:
        ham_verdicts = [(m, _verdict(m, ctx)) for m in test_ham]
        spam_labels = Counter(_verdict(m, ctx).label for m in test_spam)
    ham_labels = Counter(v.label for _, v in ham_verdicts)
    commercial = [v.label for m, v in ham_verdicts if _looks_commercial(m.mail)]
    dropped = sum(v.label == "spam" and v.score > DROP_THRESHOLD for _, v in ham_verdicts)

    true_positives = spam_labels["spam"]
    false_positives = ham_labels["spam"]
    false_negatives = len(test_spam) - true_positives
    precision = _ratio(true_positives, true_positives + false_positives)
    recall = _ratio(true_positives, len(test_spam))
    return SpamEvalReport(
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        false_positive_rate=_ratio(false_positives, len(test_ham)),
        n_train_ham=len(train_ham),
        n_train_spam=len(train_spam),
        n_test_ham=len(test_ham),
        n_test_spam=len(test_spam),
        true_positives=true_positives,
        false_positives=false_positives,
        false_negatives=false_negatives,
        unparseable=unparseable,
        ham_labels=dict(sorted(ham_labels.items())),
        spam_labels=dict(sorted(spam_labels.items())),
        seconds=time.perf_counter() - started,
        n_test_commercial=len(commercial),
        commercial_false_positives=sum(label == "spam" for label in commercial),
        auto_dropped_false_positives=dropped,
    )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _by_date(mail: EvalMail) -> tuple[dt.datetime, str]:
    """Sort key: the Date header (mail without one counts as oldest), then the file name."""
    return mail.mail.date or _EPOCH, mail.name


def feedback_order(
    ham: Sequence[EvalMail], spam: Sequence[EvalMail]
) -> list[tuple[EvalMail, bool]]:
    """(mail, is_spam) in the order a mailbox would get them: each folder by its Date
    header, the spam spread evenly among the ham."""

    def placed(mails: Sequence[EvalMail], is_spam: bool) -> list[tuple[float, bool, EvalMail]]:
        ordered = sorted(mails, key=_by_date)
        return [((i + 0.5) / len(ordered), is_spam, m) for i, m in enumerate(ordered)]

    stream = sorted([*placed(ham, False), *placed(spam, True)], key=lambda t: (t[0], t[1]))
    return [(mail, is_spam) for _, is_spam, mail in stream]


def _looks_commercial(mail: ParsedMail) -> bool:
    return mail.list_unsubscribe is not None or bool(_COMMERCIAL.search(mail.text[-3000:]))


def run_spam_eval(
    train_ham: Path,
    train_spam: Path,
    test_ham: Path,
    test_spam: Path,
    epochs: int = 5,
    spamd: SpamdClient | None = None,
    feedback: bool = False,
) -> SpamEvalReport:
    """Train a fresh SpamModel on the train folders and score the test folders."""
    loaded = [load_folder(f, spamd) for f in (train_ham, train_spam, test_ham, test_spam)]
    failed = sum(f for _, f in loaded)
    (a, _), (b, _), (c, _), (d, _) = loaded
    return evaluate(a, b, c, d, unparseable=failed, epochs=epochs, feedback=feedback)


def _hash_share(name: str) -> float:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2**64


def split_by_hash(
    mails: Sequence[EvalMail], test_share: float = 1 - _TRAIN_SHARE
) -> tuple[list[EvalMail], list[EvalMail]]:
    """(train, test) by a hash of the file name: independent of listing order."""
    train = [m for m in mails if _hash_share(m.name) >= test_share]
    test = [m for m in mails if _hash_share(m.name) < test_share]
    return train, test


def split_by_time(
    mails: Sequence[EvalMail], train_share: float = _TRAIN_SHARE
) -> tuple[list[EvalMail], list[EvalMail]]:
    """(older, newer) by the Date header; mail without one counts as oldest."""
    ordered = sorted(mails, key=_by_date)
    cut = int(len(ordered) * train_share)
    return ordered[:cut], ordered[cut:]


def run_splits(
    corpora: Path,
    spamd: SpamdClient | None = None,
    epochs: int = 5,
    verdicts: Mapping[str, SpamdVerdict] | None = None,
    feedback: bool = False,
) -> list[tuple[str, SpamEvalReport]]:
    """The cross-source and time splits over `corpora/spamassassin-dev/{ham,spam}` and
    `corpora/enron-ham/ham` (with spamd's kept `verdicts`, see intake.spam_rule_cache); with
    `feedback`, the model learns each test mail after scoring it (see `evaluate`)."""
    sa_ham, f1 = load_folder(corpora / "spamassassin-dev" / "ham", spamd, verdicts)
    spam, f2 = load_folder(corpora / "spamassassin-dev" / "spam", spamd, verdicts)
    enron, f3 = load_folder(corpora / "enron-ham" / "ham", spamd, verdicts)
    if verdicts is not None:
        # Only the mail spamd judged: a split half with rules and half without measures
        # neither. The printed counts show how much of each folder that is.
        sa_ham, spam, enron = (
            [m for m in ms if m.spamd is not None] for ms in (sa_ham, spam, enron)
        )
    failed = f1 + f2 + f3
    spam_train, spam_test = split_by_hash(spam)
    old_sa, new_sa = split_by_time(sa_ham)
    old_enron, new_enron = split_by_time(enron)
    old_spam, new_spam = split_by_time(spam)

    def run(
        train_ham: Sequence[EvalMail],
        train_spam: Sequence[EvalMail],
        test_ham: Sequence[EvalMail],
        test_spam: Sequence[EvalMail],
    ) -> SpamEvalReport:
        return evaluate(
            train_ham, train_spam, test_ham, test_spam,
            unparseable=failed, epochs=epochs, feedback=feedback,
        )  # fmt: skip

    return [
        ("source spamassassin -> enron", run(sa_ham, spam_train, enron, spam_test)),
        ("source enron -> spamassassin", run(enron, spam_train, sa_ham, spam_test)),
        (
            "time older -> newer",
            run([*old_sa, *old_enron], old_spam, [*new_sa, *new_enron], new_spam),
        ),
        ("time older -> newer, spamassassin only", run(old_sa, old_spam, new_sa, new_spam)),
    ]


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
            side = "test" if _hash_share(path.name) < test_share else "train"
            link = folders[f"{side}_{kind}"] / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    return folders


def _figures(report: SpamEvalReport) -> str:
    return (
        f"{report.precision:.4f} {report.recall:.4f} {report.f1:.4f} "
        f"{report.false_positive_rate:.4f}"
    )


def print_spam_eval(report: SpamEvalReport, out: TextIO = sys.stdout, *, last: bool = True) -> None:
    """A readable summary; with `last`, the last line is `precision recall f1 fpr`."""
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
        f"ham called spam {report.false_positives} "
        f"(commercial-looking: {report.commercial_false_positives} of "
        f"{report.n_test_commercial}; over the auto-drop threshold "
        f"{report.auto_dropped_false_positives})",
        file=out,
    )
    if last:
        print(_figures(report), file=out)


def worst_case(reports: Sequence[SpamEvalReport]) -> tuple[float, float, float, float]:
    """The lowest precision, recall and F1 and the highest false-positive rate."""
    return (
        min(r.precision for r in reports),
        min(r.recall for r in reports),
        min(r.f1 for r in reports),
        max(r.false_positive_rate for r in reports),
    )


def print_splits(splits: Sequence[tuple[str, SpamEvalReport]], out: TextIO = sys.stdout) -> None:
    """Each split, then its figures; the last line is the worst case over the splits."""
    for name, report in splits:
        print(f"== {name}", file=out)
        print_spam_eval(report, out, last=False)
        print(f"precision recall f1 fpr: {_figures(report)}", file=out)
    precision, recall, f1, fpr = worst_case([r for _, r in splits])
    print("== worst case over the splits (precision recall f1 fpr)", file=out)
    print(f"{precision:.4f} {recall:.4f} {f1:.4f} {fpr:.4f}", file=out)


def spam_eval_main(
    train_ham: Path,
    train_spam: Path,
    test_ham: Path,
    test_spam: Path,
    out: TextIO = sys.stdout,
    spamd: SpamdClient | None = None,
    feedback: bool = False,
) -> SpamEvalReport:
    """Entry point for `sedno intake spam-eval`: run, print, return the report."""
    report = run_spam_eval(
        train_ham, train_spam, test_ham, test_spam, spamd=spamd, feedback=feedback
    )
    print_spam_eval(report, out)
    return report
