"""The weekly report's charts count tickets: their axes tick in whole numbers."""

from __future__ import annotations

import re

import pytest

from tickets.curation.chart import integer_ticks, render_modules_chart, render_week_chart
from tickets.curation.shapes import ModuleCount, WeekReport


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (99, [0, 20, 40, 60, 80, 100]),
    ],
)
def test_integer_ticks(top: int, ticks: list[int]) -> None:
    assert integer_ticks(top) == ticks


def _report(resolved: int) -> WeekReport:
    return WeekReport(
        week="2026-W48",
        resolved=resolved,
        with_keywords=resolved // 2,
        with_kb_links=1,
        verified=0,
        missing_keywords=[],
        missing_kb_links=[],
        duplicate_groups=[],
        top_reused=[],
        zero_result_queries=[],
        new_keywords=[],
        broken_links=[],
        by_module=[ModuleCount("Handel", resolved), ModuleCount("Kadry Płace", 1)],
    )


@pytest.mark.parametrize("resolved", [1, 4, 9])
def test_charts_never_tick_fractions(resolved: int) -> None:
    for svg in (render_week_chart(_report(resolved)), render_modules_chart(_report(resolved))):
        numbers = re.findall(r">(-?\d+(?:[.,]\d+)?)</text>", svg)
        assert numbers, svg[:300]
        assert all(re.fullmatch(r"-?\d+", n) for n in numbers), numbers
