"""`sedno search bench`: indexing speed, as-you-type latency and relevance on generated
Polish tickets.

The embedded engine runs in-process beside an SQLite FTS5 baseline on the same tickets and
queries, query by query in turn (`measure_side_by_side`); any other transport (HTTP) plugs in
the same way, beside a baseline of its own. The relevance
benchmark (`search.relevance`) runs with Morfeusz lemmas and with Snowball stems.
"""

from __future__ import annotations

import random
import re
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from itertools import zip_longest
from pathlib import Path

import msgspec

from search.analysis import MORPHOLOGIES, lemmas, use_morphology
from search.documents import TicketDocument
from search.embedded import EmbeddedSearchEngine
from search.ports import SearchRequest
from search.relevance import (
    TUNING,
    UNSEEN,
    RelevanceReport,
    measure_relevance,
    relevance_queries,
    relevance_tickets,
)

BENCH_FACETS = ["product", "module", "type"]

_PRODUCTS = ["enova365", "Triva"]
_MODULES = ["Kadry Płace", "Handel", "Księgowość", "Magazyn", "CRM", "Środki trwałe", "Workflow", "Business Intelligence"]  # fmt: skip
_TYPES = ["bug", "question", "config", "training"]
_SUBJECTS = [
    "faktura sprzedaży", "korekta faktury", "wysyłka do KSeF", "deklaracja VAT-7", "JPK_V7M",
    "lista płac", "urlop wypoczynkowy", "zwolnienie lekarskie", "przelewy bankowe",
    "księgowanie dokumentów", "deklaracja PIT-11", "składki ZUS", "e-Deklaracje",
    "import wyciągu", "remanent magazynu", "zamknięcie miesiąca", "kurs waluty", "nota księgowa",
    "raport kasowy", "umowa zlecenie", "ewidencja czasu pracy", "płatności masowe",
    "schemat księgowań", "bilans otwarcia", "rozrachunki z kontrahentem",
]  # fmt: skip
_PROBLEMS = [
    "nie działa", "zwraca błąd", "źle nalicza", "nie wysyła się", "zawiesza program",
    "pokazuje złą kwotę", "nie księguje się", "brak uprawnień", "błąd walidacji schematu",
    "nie można zapisać", "duplikuje pozycje", "wolno działa", "odrzucona przez bramkę",
]  # fmt: skip
_CONTEXT = [
    "po aktualizacji do wersji", "od rana u klienta", "na stanowisku księgowej",
    "w bazie produkcyjnej", "przy zamykaniu okresu", "na serwerze terminalowym",
    "w oddziale w Łodzi", "dla pracowników na umowie o pracę", "w trybie wielofirmowym",
]  # fmt: skip
_SOLUTIONS = [
    "Należy zaktualizować program do najnowszej wersji i ponowić wysyłkę.",
    "Zmienić ustawienia w konfiguracji: System → Księgowość → Definicje dokumentów.",
    "Poprawić dane kontrahenta (NIP) i ponownie wygenerować plik JPK.",
    "Przeliczyć listę płac po uzupełnieniu historii zatrudnienia.",
    "Nadać operatorowi uprawnienia do modułu i zalogować się ponownie.",
    "Odświeżyć certyfikat w e-Deklaracjach i przesłać dokument jeszcze raz.",
    "Usunąć zdublowane zapisy w rozrachunkach i uruchomić rozliczenie automatyczne.",
]  # fmt: skip
_WORDS = ["klient", "zgłasza", "że", "system", "program", "dokument", "pozycja", "kwota", "podatek", "pracownik", "okres", "firma", "baza", "serwer", "wydruk", "raport", "plik", "ustawienia", "konfiguracja", "operator"]  # fmt: skip


def synthetic_tickets(n: int, seed: int = 7) -> list[TicketDocument]:
    """`n` random but plausible resolved tickets (fixed seed: the same set every run)."""
    rnd = random.Random(seed)
    docs = []
    for i in range(1, n + 1):
        subject, problem = rnd.choice(_SUBJECTS), rnd.choice(_PROBLEMS)
        version = f"{rnd.choice(['2304', '2310', '2404', '2410', '2504'])}.{rnd.randint(1, 6)}"
        filler = " ".join(rnd.choices(_WORDS, k=rnd.randint(15, 45)))
        description = (
            f"{subject.capitalize()} {problem} {rnd.choice(_CONTEXT)} {version}. {filler}. "
            f"Dotyczy także: {rnd.choice(_SUBJECTS)}."
        )
        kb = (
            [f"https://pomoc.enova.pl/baza-wiedzy/{rnd.randint(1000, 99999)}"]
            if rnd.random() < 0.3
            else []
        )
        docs.append(
            TicketDocument(
                id=i,
                number=f"ZS/{rnd.choice([2024, 2025, 2026])}/{i}",
                title=f"{subject.capitalize()} {problem}",
                description=description,
                solution=rnd.choice(_SOLUTIONS),
                keywords=rnd.sample(_SUBJECTS, 2),
                kb_links=kb,
                product=rnd.choice(_PRODUCTS),
                module=rnd.choice(_MODULES),
                version=version,
                type=rnd.choice(_TYPES),
                completed_at=1_700_000_000 + i * 60,
                verified=rnd.random() < 0.2,
                reuse_count=int(rnd.expovariate(0.3)),
            )
        )
    return docs


def _typo(word: str, rnd: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rnd.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # swap two neighbours


def as_you_type_queries(n: int = 1000, seed: int = 11) -> list[str]:
    """Prefixes of realistic queries, as typed keystroke by keystroke; some with a typo."""
    rnd = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        full = f"{rnd.choice(_SUBJECTS)} {rnd.choice(_PROBLEMS)}".split()[: rnd.randint(1, 4)]
        if rnd.random() < 0.25:
            k = rnd.randrange(len(full))
            full[k] = _typo(full[k], rnd)
        if rnd.random() < 0.4:
            full = [w.translate(str.maketrans("ąćęłńóśźż", "acelnoszz")) for w in full]
        text = " ".join(full)
        cut = rnd.randint(max(2, len(text) // 2), len(text))
        out.append(text[:cut])
    return out[:n]


class Latency(msgspec.Struct, frozen=True):
    """Latency percentiles in milliseconds."""

    p50: float
    p95: float
    p99: float
    mean: float


def measure_latency(query: Callable[[str], object], queries: Sequence[str]) -> Latency:
    """Time `query(q)` for every q (one warm-up pass over the first 50 first)."""
    return measure_side_by_side({"": query}, queries)[""]


def measure_side_by_side(
    runs: Mapping[str, Callable[[str], object]], queries: Sequence[str]
) -> dict[str, Latency]:
    """Time several ways of answering, query by query in turn (the order rotating), after one
    warm-up pass over the first 50: a machine that slows down for a while slows all of them
    alike, so the ratio of two columns holds from run to run, where two passes one after the
    other drift."""
    names = list(runs)
    for q in queries[:50]:
        for name in names:
            runs[name](q)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(queries):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.perf_counter()
            runs[name](q)
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: _latency(t) for name, t in times.items()}


def _latency(times: list[float]) -> Latency:
    times = sorted(times)

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, int(p * len(times)))], 2)

    return Latency(pct(0.50), pct(0.95), pct(0.99), round(statistics.fmean(times), 2))


class FTS5Baseline:
    """The same work on SQLite FTS5, given its best chance: diacritics folded, a prefix index
    for the last word, BM25 with column weights (title first), snippet, three facet counts."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(title, keywords, description, solution,"
            " product UNINDEXED, module UNINDEXED, type UNINDEXED,"
            " tokenize=\"unicode61 remove_diacritics 2\", prefix='2 3 4')"
        )

    def index(self, docs: Sequence[TicketDocument]) -> None:
        self._db.executemany(
            "INSERT INTO t(rowid, title, keywords, description, solution, product, module, type)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (d.id, d.title, " ; ".join(d.keywords), d.description, d.solution, d.product,
                 d.module, d.type)
                for d in docs
            ],
        )  # fmt: skip
        self._db.commit()

    def query(self, q: str) -> list[int]:
        """The ten best tickets' ids (the facet counts are computed and thrown away)."""
        terms = re.findall(r"\w+", q)
        if not terms:
            return []
        match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*'
        rows = self._db.execute(
            "SELECT rowid, title, snippet(t, 2, '<mark>', '</mark>', '…', 30) FROM t"
            " WHERE t MATCH ? ORDER BY bm25(t, 10.0, 5.0, 1.0, 1.0) LIMIT 10",
            (match,),
        ).fetchall()
        for col in ("product", "module", "type"):
            self._db.execute(
                f"SELECT {col}, count(*) FROM t WHERE t MATCH ? GROUP BY {col}", (match,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def close(self) -> None:
        self._db.close()


MORPHOLOGY_PAIRS = (
    Path(__file__).resolve().parent.parent / "search" / "data" / "morphology-pairs.txt"
)


class MorphologyScore(msgspec.Struct, frozen=True):
    """How one analysis does on the (form, lemma) table: forms that meet their own lemma
    (share a lemma or stem with it) and forms that meet another lemma of the table."""

    morphology: str
    pairs: int
    joined: float
    false_merges: int


def morphology_pairs(path: Path = MORPHOLOGY_PAIRS) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if line[:1] != "#"]
    return [(form, lemma) for form, lemma in rows]


def score_morphology(pairs: Sequence[tuple[str, str]]) -> list[MorphologyScore]:
    """Each analysis on the table; a form's key is the set of its lemmas (or its one stem)."""
    out = []
    lemmas_of_table = sorted({lemma for _, lemma in pairs})
    for morphology in MORPHOLOGIES:
        use_morphology(morphology)
        try:
            key = {lemma: set(lemmas(lemma)) for lemma in lemmas_of_table}
            joined = merges = 0
            for form, lemma in pairs:
                form_key = set(lemmas(form))
                joined += bool(form_key & key[lemma])
                merges += any(form_key & key[other] for other in lemmas_of_table if other != lemma)
            out.append(
                MorphologyScore(morphology, len(pairs), round(joined / len(pairs), 4), merges)
            )
        finally:
            use_morphology("morfeusz")
    return out


class RelevanceRow(msgspec.Struct, frozen=True):
    """One line of the relevance table."""

    name: str
    report: RelevanceReport


class BenchReport(msgspec.Struct, frozen=True):
    """What `sedno search bench` prints."""

    docs: int
    index_docs_per_s: float
    fts5_index_docs_per_s: float
    index_cpu_s_per_1000: float
    embedded: Latency
    fts5: Latency
    peak_rss_mb: float
    relevance: list[RelevanceRow] = msgspec.field(default_factory=list)
    morphology: list[MorphologyScore] = msgspec.field(default_factory=list)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def bench_tickets(docs: int) -> list[TicketDocument]:
    """The speed benchmark's tickets: the relevance benchmark's (tuning set) generator."""
    return relevance_tickets(docs, TUNING)


def bench_queries(tickets: Sequence[TicketDocument], n: int) -> list[str]:
    """Half whole titles as typed (typos, last word cut), half short as-you-type prefixes."""
    titles = [c.q for c in relevance_queries(tickets, (n + 1) // 2, TUNING)]
    prefixes = as_you_type_queries(n - len(titles))
    return [q for pair in zip_longest(titles, prefixes) for q in pair if q is not None][:n]


def index_in_batches(engine: EmbeddedSearchEngine, tickets: Sequence[TicketDocument]) -> float:
    """Index `tickets` 10 000 at a time; documents per second."""
    return index_timed(engine, tickets)[0]


def index_timed(
    engine: EmbeddedSearchEngine, tickets: Sequence[TicketDocument]
) -> tuple[float, float]:
    """Index `tickets` 10 000 at a time; documents per second and CPU seconds per 1 000
    documents (every thread of the process: tantivy's indexing and merging too). On a shared
    machine the CPU figure is the steadier one: other processes slow the wall clock, not it."""
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(tickets), 10_000):
        engine.upsert(tickets[start : start + 10_000])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return len(tickets) / wall, cpu / len(tickets) * 1000


def run_relevance(
    docs: int, queries: int, work_dir: Path, fts5: bool = False
) -> list[RelevanceRow]:
    """Top-10 rate of both query sets, with Morfeusz lemmas and with Snowball stems (and
    FTS5's, when asked)."""
    rows = []
    for vocab_name, vocab in (("tuning", TUNING), ("unseen", UNSEEN)):
        tickets = relevance_tickets(docs, vocab)
        cases = relevance_queries(tickets, queries, vocab)
        for morphology in MORPHOLOGIES:
            use_morphology(morphology)
            try:
                engine = EmbeddedSearchEngine(work_dir / f"rel-{vocab_name}-{morphology}")
                engine.delete_all()
                index_in_batches(engine, tickets)

                def search(q: str, engine: EmbeddedSearchEngine = engine) -> list[int]:
                    return [h.id for h in engine.search(SearchRequest(q=q, limit=10)).hits]

                rows.append(
                    RelevanceRow(f"{vocab_name}/{morphology}", measure_relevance(search, cases))
                )
                engine.close()
            finally:
                use_morphology("morfeusz")
        if fts5:
            base = FTS5Baseline(work_dir / f"rel-{vocab_name}.sqlite")
            base.index(tickets)
            rows.append(
                RelevanceRow(f"{vocab_name}/sqlite-fts5", measure_relevance(base.query, cases))
            )
            base.close()
    return rows


def run_bench(
    docs: int = 100_000,
    work_dir: Path | None = None,
    queries: int = 1000,
    relevance_docs: int = 20_000,
) -> BenchReport:
    """Index `docs` tickets in both engines, run the same queries in each; then the relevance
    benchmark on `relevance_docs` tickets per set (0: skip it)."""
    with tempfile.TemporaryDirectory(prefix="sedno-bench-") as tmp:
        base = Path(work_dir or tmp)
        tickets = bench_tickets(docs)
        engine = EmbeddedSearchEngine(base / "search" / "bench")
        engine.delete_all()
        index_rate, index_cpu = index_timed(engine, tickets)

        fts = FTS5Baseline(base / "fts5.sqlite")
        t0 = time.perf_counter()
        fts.index(tickets)
        fts_rate = len(tickets) / (time.perf_counter() - t0)
        qs = bench_queries(tickets, queries)
        del tickets

        def embedded_query(q: str) -> None:
            engine.search(SearchRequest(q=q, limit=10, facets=BENCH_FACETS, crop_length=30))

        both = measure_side_by_side({"embedded": embedded_query, "fts5": fts.query}, qs)
        embedded, baseline = both["embedded"], both["fts5"]
        fts.close()
        engine.close()
        relevance = run_relevance(relevance_docs, 1000, base, fts5=True) if relevance_docs else []
        return BenchReport(
            docs=docs,
            index_docs_per_s=round(index_rate),
            fts5_index_docs_per_s=round(fts_rate),
            index_cpu_s_per_1000=round(index_cpu, 4),
            embedded=embedded,
            fts5=baseline,
            peak_rss_mb=_peak_rss_mb(),
            relevance=relevance,
            morphology=score_morphology(morphology_pairs()),
        )


def format_bench(
    report: BenchReport,
    extra: dict[str, Latency] | None = None,
    baselines: Sequence[str] = (),
) -> str:
    """Side-by-side table; `extra` adds columns such as an HTTP measurement and FTS5 measured
    with it (`baselines`: names of those columns): the p95 ratio of every other extra column
    to each of them, or to the in-process FTS5 when there are none."""
    cols: dict[str, Latency] = {"embedded": report.embedded, "sqlite-fts5": report.fts5}
    cols.update(extra or {})
    width = max(14, *(len(name) + 2 for name in cols))
    lines = [
        f"{report.docs} docs; indexing: embedded {report.index_docs_per_s:.0f} docs/s "
        f"({report.index_cpu_s_per_1000:.3f} CPU s per 1000 docs), "
        f"fts5 {report.fts5_index_docs_per_s:.0f} docs/s; peak RSS {report.peak_rss_mb} MB",
        f"{'latency ms':<12}" + "".join(f"{name:>{width}}" for name in cols),
    ]
    for p in ("p50", "p95", "p99", "mean"):
        lines.append(f"{p:<12}" + "".join(f"{getattr(v, p):>{width}.2f}" for v in cols.values()))
    ratio = report.embedded.p95 / report.fts5.p95 if report.fts5.p95 else float("nan")
    lines.append(f"p95 ratio embedded / sqlite-fts5, in-process side by side: {ratio:.2f}")
    bases = [(name, cols[name]) for name in baselines] or [("sqlite-fts5", report.fts5)]
    for name, latency in (extra or {}).items():
        if name in baselines:
            continue
        for base_name, base in bases:
            ratio = latency.p95 / base.p95 if base.p95 else float("nan")
            lines.append(f"p95 ratio {name} / {base_name}: {ratio:.2f}")
    if report.relevance:
        lines.append(f"{'relevance':<24}{'queries':>8}{'top-10':>9}{'mrr':>8}{'p95 ms':>9}")
        for row in report.relevance:
            r = row.report
            lines.append(
                f"{row.name:<24}{r.queries:>8}{r.top10:>9.1%}{r.mrr:>8.3f}{r.ms_p95:>9.1f}"
            )
    for m in report.morphology:
        lines.append(
            f"morphology table ({m.pairs} form/lemma pairs) {m.morphology}: {m.joined:.1%} of forms"
            f" meet their lemma, {m.false_merges} meet another lemma of the table"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(format_bench(run_bench(n)))
