"""The demo's timestamps fall in the desk's working hours and never after the moment it is
loaded, whatever the hour: loaded at night, today's working hours are still to come (the demo
test failed when run after midnight in Warsaw)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tools.demo import WARSAW, later_working_time, working_time


def _working(at: dt.datetime) -> bool:
    local = at.astimezone(WARSAW)
    return local.weekday() < 5 and 8 <= local.hour < 16


NOWS = [
    dt.datetime(2026, 12, 2, 0, 28, tzinfo=WARSAW),  # Wednesday just after midnight
    dt.datetime(2026, 12, 2, 7, 59, tzinfo=WARSAW),  # before the desk opens
    dt.datetime(2026, 12, 2, 8, 3, tzinfo=WARSAW),  # minutes after it opens
    dt.datetime(2026, 12, 2, 12, 0, tzinfo=WARSAW),
    dt.datetime(2026, 12, 2, 16, 30, tzinfo=WARSAW),  # after it closes
    dt.datetime(2026, 12, 5, 11, 0, tzinfo=WARSAW),  # Saturday
    dt.datetime(2026, 12, 7, 0, 5, tzinfo=WARSAW),  # Monday night, after a weekend
]


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%a-%H%M"))
def test_reported_and_completed_times_are_working_hours_before_now(now: dt.datetime) -> None:
    rng = random.Random(7)
    for _ in range(300):
        reported = working_time(rng, now, rng.randint(0, 6))
        completed = later_working_time(rng, reported, now)
        assert _working(reported) and reported <= now, (reported, now)
        assert _working(completed) and reported <= completed <= now, (reported, completed, now)
