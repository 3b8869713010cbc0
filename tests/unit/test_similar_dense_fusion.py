"""The embedding re-rank's blend: the lexical rerank's whole-text cosine counts beside the
embeddings' cosines (a fake engine and encoder: no model, no index)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from search.dense import LEXICAL_COSINE_WEIGHT, DenseSimilar, TicketVectors
from search.ports import SearchHit, SearchResponse, SimilarRequest


def _hit(i: int, score: float, text_cosine: float) -> SearchHit:
    return SearchHit(id=i, number=f"ZS/{i}", title=f"ticket {i}", snippet="",
                     title_highlighted="", solution="", keywords=[], kb_links=[], product="",
                     module="", type="", version="", score=score,
                     text_cosine=text_cosine)  # fmt: skip


class _Engine:
    """Answers every similar call with the same hits (none of them has stored vectors)."""

    def __init__(self, hits: list[SearchHit]) -> None:
        self.hits = hits

    def similar(self, req: SimilarRequest) -> SearchResponse:
        return SearchResponse(hits=self.hits[: req.limit], total=len(self.hits))

    def close(self) -> None:
        pass


class _Encoder:
    def encode(self, texts: Sequence[str], max_tokens: int = 256) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        out[:, 0] = 1.0
        return out


def _ranked(tmp_path: Path, hits: list[SearchHit]) -> list[tuple[int, float]]:
    dense = DenseSimilar(_Engine(hits), TicketVectors(tmp_path / "v.sqlite"), _Encoder())  # type: ignore[arg-type]
    try:
        req = SimilarRequest(title="Import fails with ERR_MT940_17", text="bank statement")
        return [(h.id, h.score) for h in dense.similar(req).hits]
    finally:
        dense.close()


def test_the_whole_text_cosine_lifts_a_ticket_the_lexical_score_put_second(
    tmp_path: Path,
) -> None:
    # 2 is a little behind on the lexical blend but shares far more of the call's rare words.
    ranked = _ranked(tmp_path, [_hit(1, 1.0, 0.1), _hit(2, 0.95, 0.4)])
    assert [i for i, _ in ranked] == [2, 1]
    # Equal embedding cosines (the median, as nothing is stored): only the two blends differ.
    expected = (0.95 - 1.0) + LEXICAL_COSINE_WEIGHT * (0.4 - 0.1)
    assert abs((ranked[0][1] - ranked[1][1]) - expected) < 1e-9


def test_equal_cosines_leave_the_lexical_order(tmp_path: Path) -> None:
    ranked = _ranked(tmp_path, [_hit(1, 1.0, 0.3), _hit(2, 0.95, 0.3)])
    assert [i for i, _ in ranked] == [1, 2]
