"""Prometheus metrics: process-local instruments (search latency, HTTP requests) and gauges
and counters read from the database, so every replica reports the same cluster-wide figures."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.core.outbox import pending_stats

INDEX_KIND: Final = "search.index"


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Counter:
    """A monotonically increasing count per label set, kept in this process."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._values: dict[tuple[tuple[str, str], ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, value in sorted(self._values.items()):
                lines.append(f"{self.name}{_labels(key)} {value:g}")
        return lines


class Histogram:
    """Cumulative buckets, sum and count per label set, kept in this process."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.help = help_text
        self.buckets = sorted(buckets)
        self._series: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            # per series: [count in each bucket..., +Inf count, sum]
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            series[index] += 1
            series[-1] += value

    @contextlib.contextmanager
    def time(self, **labels: str) -> Iterator[None]:
        """Observe how long the block took, whether it succeeded or raised."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started, **labels)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, series in sorted(self._series.items()):
                running = 0.0
                for bound, count in zip(self.buckets, series, strict=False):
                    running += count
                    labels = _labels([*key, ("le", f"{bound:g}")])
                    lines.append(f"{self.name}_bucket{labels} {running:g}")
                total = running + series[len(self.buckets)]
                lines.append(f"{self.name}_bucket{_labels([*key, ('le', '+Inf')])} {total:g}")
                lines.append(f"{self.name}_sum{_labels(key)} {series[-1]:.6f}")
                lines.append(f"{self.name}_count{_labels(key)} {total:g}")
        return lines


SEARCH_LATENCY = Histogram(
    "sedno_search_latency_seconds",
    "Time spent in the search engine per request, by endpoint (this process).",
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
)
HTTP_REQUESTS = Counter(
    "sedno_http_requests_total", "HTTP requests served by this process, by method and status."
)


def database_metrics(session: Session) -> list[str]:
    """Cluster-wide figures from the database: queue depth, outbox and index lag, intake."""
    from intake.orm import IntakeCallRow

    lines: list[str] = []
    stats = pending_stats(session)
    pending_calls = session.execute(
        select(IntakeCallRow.classification, func.count())
        .where(IntakeCallRow.status == "pending")
        .group_by(IntakeCallRow.classification)
    ).all()
    lines += [
        "# HELP sedno_intake_pending Intake calls waiting for a decision, by classification.",
        "# TYPE sedno_intake_pending gauge",
    ]
    for classification, count in sorted(pending_calls):
        lines.append(f'sedno_intake_pending{{classification="{_escape(classification)}"}} {count}')
    created = session.execute(
        select(IntakeCallRow.source, func.count()).group_by(IntakeCallRow.source)
    ).all()
    lines += [
        "# HELP sedno_intake_calls_total Intake calls created, by source (rate() gives intake rates).",
        "# TYPE sedno_intake_calls_total counter",
    ]
    for source, count in sorted(created):
        lines.append(f'sedno_intake_calls_total{{source="{_escape(source)}"}} {count}')
    index = stats.get(INDEX_KIND, {"pending": 0, "oldest_age_s": 0.0})
    lines += [
        "# HELP sedno_index_lag_seconds Age of the oldest change not yet in the search index.",
        "# TYPE sedno_index_lag_seconds gauge",
        f"sedno_index_lag_seconds {index['oldest_age_s']:.3f}",
        "# HELP sedno_index_pending Changes waiting to reach the search index.",
        "# TYPE sedno_index_pending gauge",
        f"sedno_index_pending {index['pending']}",
    ]
    return lines


def process_metrics() -> list[str]:
    return [*SEARCH_LATENCY.render(), *HTTP_REQUESTS.render()]
