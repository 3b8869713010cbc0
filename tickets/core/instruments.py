"""Process-local Prometheus instruments (counters, histograms) any layer may feed; `/metrics`
renders them (api/metrics.py)."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections.abc import Iterator, Sequence


def label_text(pairs: Sequence[tuple[str, str]]) -> str:
    if not pairs:
        return ""
    body = ",".join(f'{k}="{escape_label(v)}"' for k, v in pairs)
    return "{" + body + "}"


def escape_label(value: str) -> str:
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
                lines.append(f"{self.name}{label_text(key)} {value:g}")
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
                    labels = label_text([*key, ("le", f"{bound:g}")])
                    lines.append(f"{self.name}_bucket{labels} {running:g}")
                total = running + series[len(self.buckets)]
                lines.append(f"{self.name}_bucket{label_text([*key, ('le', '+Inf')])} {total:g}")
                lines.append(f"{self.name}_sum{label_text(key)} {series[-1]:.6f}")
                lines.append(f"{self.name}_count{label_text(key)} {total:g}")
        return lines
