"""Similar-tickets quality on a BEIR-style folder: Sedno's `similar` against plain BM25.

The queries fall into two fixed halves by a hash of their id (`half_of`): whatever the
similar ranking tunes is chosen on half A, and half B tells how well that holds on queries
it was not chosen on.
"""

from __future__ import annotations

import math
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import numpy as np

from search.analysis import words
from search.dense import DenseSimilar, TicketVectors
from search.documents import TicketDocument
from search.embedded import EmbeddedSearchEngine
from search.embedding import load_encoder
from search.ports import SearchEngine, SimilarRequest

K = 10


class Metrics(msgspec.Struct, frozen=True):
    """Mean ranking quality over the queries."""

    ndcg_at_10: float
    recall_at_10: float
    mrr: float


class EvalReport(msgspec.Struct, frozen=True):
    """Baseline and Sedno metrics on one folder, and Sedno's on each half of the queries."""

    queries: int
    documents: int
    baseline: Metrics
    sedno: Metrics
    seconds: float
    sedno_half_a: Metrics | None = None
    sedno_half_b: Metrics | None = None
    embeddings: bool = False
    """Whether Sedno's ranking included the embedding rerank (`search.dense`)."""


def half_of(query_id: str) -> str:
    """`A` or `B`: a fixed split of the queries (CRC-32 of the id, even or odd)."""
    return "A" if zlib.crc32(query_id.encode()) % 2 == 0 else "B"


class _Query(msgspec.Struct):
    _id: str
    text: str
    title: str = ""
    exclude_doc_id: str | None = None


class _Doc(msgspec.Struct):
    _id: str
    text: str
    title: str = ""


def _load(directory: Path) -> tuple[list[_Doc], list[_Query], dict[str, dict[str, int]]]:
    corpus = [msgspec.json.decode(line, type=_Doc) for line in _lines(directory / "corpus.jsonl")]
    queries = [
        msgspec.json.decode(line, type=_Query) for line in _lines(directory / "queries.jsonl")
    ]
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with (directory / "qrels.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[2].lstrip("-").isdigit():
                continue  # header
            qrels[parts[0]][parts[1]] = int(parts[2])
    return corpus, queries, qrels


def _lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def ndcg_at_k(ranked: Sequence[str], relevant: dict[str, int], k: int = K) -> float:
    """Graded nDCG@k with the qrels score as gain."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _metrics(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> Metrics:
    n = r = m = 0.0
    judged = [q for q in rankings if qrels.get(q)]
    for qid in judged:
        ranked, rel = rankings[qid], qrels[qid]
        positives = {d for d, g in rel.items() if g > 0}
        n += ndcg_at_k(ranked, rel)
        r += len(positives.intersection(ranked[:K])) / len(positives) if positives else 0.0
        m += next((1.0 / (i + 1) for i, d in enumerate(ranked) if d in positives), 0.0)
    count = len(judged) or 1
    return Metrics(round(n / count, 4), round(r / count, 4), round(m / count, 4))


class PlainBM25:
    """Textbook BM25 (k1 1.2, b 0.75, Lucene idf) over title + text: the baseline."""

    def __init__(self, docs: Sequence[tuple[str, str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.ids = [d for d, _ in docs]
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lengths = np.zeros(len(docs))
        counts: list[Counter[str]] = []
        for i, (_, text) in enumerate(docs):
            c = Counter(words(text))
            counts.append(c)
            lengths[i] = sum(c.values())
        avg = float(lengths.mean()) if len(docs) else 1.0
        norm = k1 * (1 - b + b * lengths / (avg or 1.0))
        for i, c in enumerate(counts):
            for term, tf in c.items():
                postings[term].append((i, tf * (k1 + 1) / (tf + norm[i])))
        self._n = len(docs)
        self._postings = {
            t: (np.array([p[0] for p in ps], dtype=np.int64), np.array([p[1] for p in ps]))
            for t, ps in postings.items()
        }

    def rank(self, text: str, limit: int) -> list[str]:
        scores = np.zeros(self._n)
        for term in set(words(text)):
            postings = self._postings.get(term)
            if not postings:
                continue
            idx, val = postings
            idf = math.log(1 + (self._n - len(idx) + 0.5) / (len(idx) + 0.5))
            scores[idx] += idf * val
        top = np.argsort(-scores, kind="stable")[:limit]
        return [self.ids[i] for i in top if scores[i] > 0]


def evaluate_beir(
    dir: Path,
    work_dir: Path,
    *,
    max_queries: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    embeddings: bool = False,
) -> EvalReport:
    """Import the corpus into a throwaway embedded index, rank every query both ways, score.

    With `embeddings` (and the model installed) the index is opened as Sedno opens it with
    embeddings on, and every ticket is embedded before the first query.
    """
    started = time.perf_counter()
    corpus, queries, qrels = _load(Path(dir))
    if max_queries is not None:
        queries = queries[:max_queries]
    ext_ids = [d._id for d in corpus]
    engine: SearchEngine = EmbeddedSearchEngine(Path(work_dir) / "search" / "beir-eval")
    dense = _dense(engine, Path(work_dir)) if embeddings else None
    if dense is not None:
        engine = dense
    try:
        engine.delete_all()
        docs = [
            TicketDocument(
                id=i + 1, number=d._id, title=d.title, description=d.text, verified=False
            )
            for i, d in enumerate(corpus)
        ]
        for start in range(0, len(docs), 5000):
            engine.upsert(docs[start : start + 5000])
        if dense is not None:
            dense.wait_for_vectors()
        bm25 = PlainBM25([(d._id, f"{d.title} {d.text}") for d in corpus])
        int_id = {e: i + 1 for i, e in enumerate(ext_ids)}
        baseline: dict[str, list[str]] = {}
        sedno: dict[str, list[str]] = {}
        for n, q in enumerate(queries, 1):
            exclude = q.exclude_doc_id
            ranked = bm25.rank(f"{q.title} {q.text}", K + 1)
            baseline[q._id] = [d for d in ranked if d != exclude][:K]
            req = SimilarRequest(
                title=q.title,
                text=q.text,
                limit=K,
                exclude_ids=[int_id[exclude]] if exclude in int_id else [],
            )
            sedno[q._id] = [ext_ids[h.id - 1] for h in engine.similar(req).hits]
            if progress:
                progress(n, len(queries))
    finally:
        engine.close()
    return EvalReport(
        queries=len(queries),
        documents=len(corpus),
        baseline=_metrics(baseline, qrels),
        sedno=_metrics(sedno, qrels),
        seconds=round(time.perf_counter() - started, 1),
        sedno_half_a=_metrics({q: r for q, r in sedno.items() if half_of(q) == "A"}, qrels),
        sedno_half_b=_metrics({q: r for q, r in sedno.items() if half_of(q) == "B"}, qrels),
        embeddings=dense is not None,
    )


def _dense(engine: SearchEngine, work_dir: Path) -> DenseSimilar | None:
    encoder = load_encoder()
    if encoder is None:
        return None
    return DenseSimilar(
        engine, TicketVectors(work_dir / "search" / "beir-eval-vectors.sqlite"), encoder
    )


def format_report(report: EvalReport) -> str:
    """A short table; the LAST line is Sedno's `ndcg@10 recall@10 mrr`, space separated."""
    b, s = report.baseline, report.sedno
    lift = (s.ndcg_at_10 / b.ndcg_at_10 - 1) * 100 if b.ndcg_at_10 else 0.0
    rows = [
        f"{report.queries} queries, {report.documents} documents, {report.seconds} s, "
        f"embeddings {'on' if report.embeddings else 'off'}",
        f"{'ranking':<14}{'nDCG@10':>9}{'R@10':>9}{'MRR':>9}",
        f"{'BM25 baseline':<14}{b.ndcg_at_10:>9.4f}{b.recall_at_10:>9.4f}{b.mrr:>9.4f}",
        f"{'Sedno similar':<14}{s.ndcg_at_10:>9.4f}{s.recall_at_10:>9.4f}{s.mrr:>9.4f}",
    ]
    for name, half in (("  half A", report.sedno_half_a), ("  half B", report.sedno_half_b)):
        if half is not None:
            rows.append(
                f"{name:<14}{half.ndcg_at_10:>9.4f}{half.recall_at_10:>9.4f}{half.mrr:>9.4f}"
            )
    rows += [
        f"nDCG@10 lift over baseline: {lift:+.1f} %",
        f"{s.ndcg_at_10:.4f} {s.recall_at_10:.4f} {s.mrr:.4f}",
    ]
    return "\n".join(rows)


def run_eval(directory: Path, *, embeddings: bool = True) -> str:
    """`sedno search eval DIR`: evaluate in a throwaway data dir, print and return the table."""
    with tempfile.TemporaryDirectory(prefix="sedno-eval-") as tmp:
        text = format_report(evaluate_beir(directory, Path(tmp), embeddings=embeddings))
    print(text)
    return text


if __name__ == "__main__":
    import sys

    run_eval(Path(sys.argv[1]), embeddings="--no-embeddings" not in sys.argv)
