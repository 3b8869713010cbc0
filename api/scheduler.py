"""Periodic jobs (the weekly curation digest, …), run by every worker; each job itself makes
sure it runs once per period across workers (a unique row per job and period)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable

from api.bootstrap import Container, module_exists, planner_settings
from tickets.core.db import utcnow
from tickets.planner.schedules import run_schedules

log = logging.getLogger("sedno.scheduler")
TICK_S = 60.0


def scheduled_jobs() -> list[Callable[[Container, dt.datetime | None], object]]:
    from search.sync import repopulate_if_empty

    jobs: list[Callable[[Container, dt.datetime | None], object]] = [repopulate_if_empty]
    if module_exists("tickets.curation.schedule"):
        from tickets.curation.schedule import run_scheduled

        jobs.append(run_scheduled)
    if module_exists("intake.purge") and module_exists("tickets.curation.schedule"):
        from intake.purge import run_scheduled_purge

        jobs.append(run_scheduled_purge)
    jobs.append(run_service_schedules)
    return jobs


def run_service_schedules(container: Container, now: dt.datetime | None = None) -> list[int]:
    """Service schedules: each due ticket made once, whoever comes first."""
    return run_schedules(
        container.db, planner_settings(container), now or utcnow(), f"pid:{os.getpid()}"
    )


def run_scheduler(container: Container, stop: threading.Event, tick_s: float = TICK_S) -> None:
    jobs = scheduled_jobs()
    while not stop.is_set():
        for job in jobs:
            try:
                job(container, None)
            except Exception:
                log.exception(
                    "scheduled job %s failed; will try again", getattr(job, "__qualname__", job)
                )
        stop.wait(tick_s)
