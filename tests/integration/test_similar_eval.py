"""Similar past tickets on real duplicate bug reports beat plain BM25 by 15 % nDCG@10."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.evaluation import evaluate_beir, format_report

pytestmark = pytest.mark.quality

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dupbugs-dev"


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"{DATA} is absent (shared evaluation data)")
def test_similar_beats_bm25_baseline_by_15_percent(tmp_path: Path) -> None:
    report = evaluate_beir(DATA, tmp_path)
    print(format_report(report))
    assert report.queries > 900
    assert report.baseline.ndcg_at_10 > 0.3  # the baseline is a real BM25, not a strawman
    assert report.sedno.ndcg_at_10 >= 1.15 * report.baseline.ndcg_at_10
    assert report.sedno.recall_at_10 > report.baseline.recall_at_10
    # BM25F, the squared-idf cosine and the engine score together: 0.638 before them.
    assert report.sedno.ndcg_at_10 >= 0.645
    assert report.sedno_half_a is not None and report.sedno_half_b is not None
