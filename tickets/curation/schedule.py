"""The weekly curation job, the link check start and the digest mail, once per period."""

from __future__ import annotations

import datetime as dt
import logging
import os
import zoneinfo
from typing import Any, Final, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tickets.core.db import utcnow
from tickets.core.orm import UserRow
from tickets.core.outbox import OutboxJob, enqueue
from tickets.core.runtime import Runtime
from tickets.curation.chart import digest_html, report_text
from tickets.curation.linkcheck import LinkCheckSettings, run_link_check
from tickets.curation.orm import ScheduledRunRow
from tickets.curation.service import build_report
from tickets.curation.weeks import (
    CurationSettings,
    previous_week,
    week_label,
)


class CurationRuntime(Runtime, Protocol):
    """The curation job's needs: the process parts and its settings."""

    @property
    def curation(self) -> CurationSettings: ...

    @property
    def linkcheck(self) -> LinkCheckSettings: ...


log = logging.getLogger("sedno.curation")

WEEKLY_JOB: Final = "curation.weekly"
LINKCHECK_JOB: Final = "curation.linkcheck"
DIGEST_JOB: Final = "curation.digest"
SEND_MAIL_JOB: Final = "mail.send"


def claim_run(session: Session, job: str, period: str, worker: str = "") -> bool:
    """Insert (job, period) unless present; True for the one caller whose insert won."""
    values = {"job": job, "period": period, "at": utcnow(), "worker": worker[:200]}
    if session.get_bind().dialect.name == "postgresql":
        stmt: Any = pg_insert(ScheduledRunRow).values(values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(ScheduledRunRow).values(values).on_conflict_do_nothing()
    # RETURNING, not rowcount: an ORM-enabled insert reports rowcount -1 on PostgreSQL.
    return session.execute(stmt.returning(ScheduledRunRow.job)).first() is not None


def due_period(now: dt.datetime, cfg: CurationSettings) -> str | None:
    """The current week when its digest time has come (day and hour, local time), else None."""
    local = now.astimezone(zoneinfo.ZoneInfo(cfg.timezone))
    iso = local.isocalendar()
    day = dt.date.fromisocalendar(iso.year, iso.week, cfg.day + 1)
    slot = dt.datetime.combine(day, dt.time(cfg.hour), local.tzinfo)
    return week_label(iso.year, iso.week) if local >= slot else None


def run_scheduled(container: CurationRuntime, now: dt.datetime | None = None) -> list[str]:
    """Called every minute by every worker: starts this week's run (link check, then the
    digest of the previous week) once, whoever calls first. Returns the periods started."""
    now = now or utcnow()
    cfg = container.curation
    period = due_period(now, cfg)
    if period is None:
        return []
    with container.db.read() as s:
        if s.get(ScheduledRunRow, (WEEKLY_JOB, period)) is not None:
            return []
    with container.db.transaction() as s:
        if not claim_run(s, WEEKLY_JOB, period, f"pid:{os.getpid()}"):
            return []
        payload = {"started_at": now.isoformat(), "digest_week": previous_week(period)}
        enqueue(s, LINKCHECK_JOB, payload)
    log.info("curation run %s started: link check, then the digest", period)
    return [period]


def start_link_check(session: Session) -> int:
    """On-demand link check (no digest after it); returns the outbox job id."""
    job = enqueue(session, LINKCHECK_JOB, {"started_at": utcnow().isoformat()})
    session.flush()
    return job.id


def digest_recipients(session: Session) -> list[UserRow]:
    return list(
        session.scalars(
            select(UserRow)
            .where(
                UserRow.role == "curator",
                UserRow.active.is_(True),
                UserRow.email.is_not(None),
                UserRow.email != "",
                UserRow.notify_opt_out.is_(False),
            )
            .order_by(UserRow.id)
        )
    )


def enqueue_digest(session: Session, container: CurationRuntime, week: str) -> int:
    """Queue the week's digest to every curator once per week; returns mails queued."""

    if not claim_run(session, DIGEST_JOB, week):
        return 0
    settings = container.settings
    report = build_report(session, week)
    link = f"{settings.public_url}/curation/week?week={week}"
    subject = f"Sedno: kuracja bazy wiedzy, tydzień {week}"
    text, html = report_text(report, link), digest_html(report, link)
    users = digest_recipients(session)
    for user in users:
        enqueue(
            session,
            SEND_MAIL_JOB,
            {
                "from": settings.mail_from,
                "to": [user.email],
                "subject": subject,
                "message_id": f"<sedno.curation.{week}.{user.id}@{settings.mail_domain}>",
                "headers": {
                    "Auto-Submitted": "auto-generated",
                    "X-Sedno-Loop": settings.mail_domain,
                },
                "text": text,
                "html": html,
                "purpose": "curation_digest",
            },
        )
    return len(users)


def register_outbox_handlers(
    container: CurationRuntime, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    """`curation.linkcheck` (in budgeted rounds, then the digest when asked) and
    `curation.digest`."""

    def link_check(job: OutboxJob) -> None:
        p = job.payload
        started = dt.datetime.fromisoformat(str(p["started_at"]))
        summary = run_link_check(container.db, container.linkcheck, started)
        log.info("link check: %s", summary)
        with container.db.transaction() as s:
            if summary.remaining and int(p.get("round", 0)) < 1000:
                enqueue(s, LINKCHECK_JOB, {**p, "round": int(p.get("round", 0)) + 1})
            elif p.get("digest_week"):
                enqueue(s, DIGEST_JOB, {"week": p["digest_week"]})

    def digest(job: OutboxJob) -> None:
        with container.db.transaction() as s:
            sent = enqueue_digest(s, container, str(job.payload["week"]))
        log.info("curation digest %s: %d mails queued", job.payload["week"], sent)

    single[LINKCHECK_JOB] = link_check
    single[DIGEST_JOB] = digest
