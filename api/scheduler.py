"""Periodic jobs (the weekly curation digest, …), run by every worker; each job itself makes
sure it runs once per period across workers (a unique row per job and period). The jobs are
listed at the composition root (`api.bootstrap.scheduled_jobs`)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

log = logging.getLogger("sedno.scheduler")
TICK_S = 60.0

C = TypeVar("C")


def run_scheduler(
    container: C,
    stop: threading.Event,
    jobs: Sequence[Callable[[C, dt.datetime | None], object]],
    tick_s: float = TICK_S,
) -> None:
    while not stop.is_set():
        for job in jobs:
            try:
                job(container, None)
            except Exception:
                log.exception(
                    "scheduled job %s failed; will try again", getattr(job, "__qualname__", job)
                )
        stop.wait(tick_s)
