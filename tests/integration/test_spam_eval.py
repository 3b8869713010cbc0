"""Spam evaluation on a deterministic 70/30 split of the shared SpamAssassin corpus."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from intake.spam_eval import spam_eval_main, split_for_development

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spamassassin-dev"


@pytest.mark.slow
@pytest.mark.skipif(
    not (CORPUS / "ham").is_dir() or not (CORPUS / "spam").is_dir(),
    reason=f"SpamAssassin development corpus not found at {CORPUS}",
)
def test_spam_eval_meets_targets_on_the_development_split(tmp_path: Path) -> None:
    folders = split_for_development(CORPUS, tmp_path)
    out = io.StringIO()
    report = spam_eval_main(
        folders["train_ham"], folders["train_spam"], folders["test_ham"], folders["test_spam"], out
    )
    last = out.getvalue().strip().splitlines()[-1].split()
    assert [float(v) for v in last] == pytest.approx(
        [report.precision, report.recall, report.f1, report.false_positive_rate], abs=1e-4
    )
    assert report.unparseable == 0
    assert report.n_test_ham + report.n_train_ham == 2500
    assert report.n_test_spam + report.n_train_spam == 500
    assert report.false_positive_rate <= 0.005, out.getvalue()
    assert report.recall >= 0.95, out.getvalue()
