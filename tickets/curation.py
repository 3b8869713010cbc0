"""Weekly knowledge-base curation: the queue, per-ticket fixes, the report, the weekly digest.

Weeks are ISO weeks in the support desk's time zone (Europe/Warsaw by default), so a ticket
closed on Sunday 23:30 local time counts in that week. "Resolved" means knowledge completed in
the week and not rejected (`tickets.knowledge`: with a solution; a phone event turned into a
task or a cancelled ticket is not). The queue also lists tickets closed as an answer but
still without a solution, for the curator to write it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from msgspec import Meta
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from search.analysis import folded_text, stems
from tickets import examples as ex
from tickets.adapters.curation_orm import KeywordRow, ScheduledRunRow, SearchQueryRow
from tickets.adapters.db import Database, utcnow
from tickets.adapters.orm import ReuseRow, TicketHistoryRow, TicketRow, UserRow
from tickets.adapters.outbox import OutboxJob, enqueue
from tickets.domain.errors import ValidationFailed
from tickets.keywords import canonical_keywords
from tickets.knowledge import closed_as_answer, is_knowledge
from tickets.linkcheck import broken_links, load_linkcheck_settings, run_link_check
from tickets.schemas import Actor, Text, TicketPatch, UrlList, Words
from tickets.services import get_ticket, record, update_ticket

if TYPE_CHECKING:
    from api.bootstrap import Container

log = logging.getLogger("sedno.curation")

WEEKLY_JOB: Final = "curation.weekly"
LINKCHECK_JOB: Final = "curation.linkcheck"
DIGEST_JOB: Final = "curation.digest"
SEND_MAIL_JOB: Final = "mail.send"
DUPLICATE_MIN_COSINE: Final = 0.5
"""TF-IDF cosine (Polish stems of title + description) above which two tickets look alike."""
TYPING_WINDOW_S: Final = 5.0
"""A user's next query within this many seconds that extends or trims the last one replaces it."""
TOP_N: Final = 10
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---------------------------------------------------------------- settings and weeks


class CurationSettings(msgspec.Struct, frozen=True, kw_only=True):
    """When the weekly digest goes out (env `SEDNO_CURATION_DAY`, `SEDNO_CURATION_HOUR`)."""

    day: int = 0
    """0 = Monday … 6 = Sunday; the env takes `mon`…`sun`, English names or ISO 1–7."""
    hour: int = 7
    timezone: str = "Europe/Warsaw"


def parse_day(value: str) -> int:
    v = value.strip().lower()
    if v.isdigit() and 1 <= int(v) <= 7:
        return int(v) - 1
    if v[:3] in _DAYS:
        return _DAYS.index(v[:3])
    raise ValueError(f"SEDNO_CURATION_DAY: not a day of the week: {value!r}")


def load_curation_settings(env: Mapping[str, str] | None = None) -> CurationSettings:
    env = os.environ if env is None else env
    day = parse_day(env["SEDNO_CURATION_DAY"]) if env.get("SEDNO_CURATION_DAY") else 0
    hour = int(env.get("SEDNO_CURATION_HOUR") or 7)
    if not 0 <= hour <= 23:
        raise ValueError(f"SEDNO_CURATION_HOUR: not an hour: {hour}")
    return CurationSettings(
        day=day, hour=hour, timezone=env.get("SEDNO_CURATION_TZ") or "Europe/Warsaw"
    )


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def week_of(at: dt.datetime, tz: str = "Europe/Warsaw") -> str:
    iso = at.astimezone(zoneinfo.ZoneInfo(tz)).isocalendar()
    return week_label(iso.year, iso.week)


def week_bounds(week: str, tz: str = "Europe/Warsaw") -> tuple[dt.datetime, dt.datetime]:
    """UTC start (inclusive) and end (exclusive) of an ISO week `YYYY-Www` in local time."""
    m = _WEEK_RE.match(week.strip())
    if m is None:
        raise ValidationFailed("week", f"{week!r} is not an ISO week like 2026-W07")
    try:
        monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError as exc:
        raise ValidationFailed("week", str(exc)) from exc
    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime.combine(monday, dt.time(), zone)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def previous_week(week: str) -> str:
    start, _ = week_bounds(week, "UTC")
    iso = (start - dt.timedelta(days=7)).isocalendar()
    return week_label(iso.year, iso.week)


def last_full_week(now: dt.datetime | None = None, tz: str = "Europe/Warsaw") -> str:
    """The week before the current one: the default of the report."""
    return previous_week(week_of(now or utcnow(), tz))


# ---------------------------------------------------------------- report shapes


class TicketBrief(msgspec.Struct):
    id: int
    number: ex.TicketNumber
    title: ex.TicketTitle
    module: ex.Module
    completed_at: dt.datetime | None
    verified: bool


class DuplicateGroup(msgspec.Struct):
    tickets: list[TicketBrief]
    similarity: float
    """The highest TF-IDF cosine between two tickets of the group."""


class ReusedSolution(msgspec.Struct):
    ticket: TicketBrief
    reuses: int
    """Times this week a consultant said the solution helped."""
    reuse_count: int
    """All time."""


class QueryCount(msgspec.Struct):
    query: ex.SearchQuery
    count: ex.Count
    users: int


class KeywordBrief(msgspec.Struct):
    id: int
    name: Annotated[str, Meta(examples=["ksef"])]
    synonyms: Annotated[list[str], Meta(examples=[["e-faktura", "krajowy system e-faktur"]])]
    created_at: dt.datetime


class BrokenLink(msgspec.Struct):
    url: ex.Url
    http_status: Annotated[int, Meta(examples=[404])] | None
    error: ex.LinkError
    checked_at: dt.datetime | None
    broken_since: dt.datetime | None
    tickets: list[TicketBrief]


class ModuleCount(msgspec.Struct):
    module: ex.Module
    resolved: ex.Count


class WeekReport(msgspec.Struct):
    """`GET /api/curation/week`: counts are of the week's resolved tickets."""

    week: ex.IsoWeek
    resolved: ex.Count
    with_keywords: int
    with_kb_links: int
    verified: int
    missing_keywords: list[TicketBrief]
    missing_kb_links: list[TicketBrief]
    duplicate_groups: list[DuplicateGroup]
    top_reused: list[ReusedSolution]
    zero_result_queries: list[QueryCount]
    new_keywords: list[KeywordBrief]
    broken_links: list[BrokenLink]
    by_module: list[ModuleCount]


class QueueItem(msgspec.Struct):
    ticket: TicketBrief
    missing: list[str]
    """`keywords`, `solution`, `kb_links`, `verification`."""


class CurationQueue(msgspec.Struct):
    week: str
    items: list[QueueItem]
    duplicate_groups: list[DuplicateGroup]


def brief(t: TicketRow) -> TicketBrief:
    return TicketBrief(t.id, t.number, t.title, t.module or "", t.completed_at, bool(t.verified))


# ---------------------------------------------------------------- queries


def resolved_in(
    session: Session, start: dt.datetime, end: dt.datetime, *, with_solution: bool = True
) -> list[TicketRow]:
    """The week's resolved knowledge; `with_solution=False` adds answers still lacking one."""
    return list(
        session.scalars(
            select(TicketRow)
            .where(
                is_knowledge() if with_solution else closed_as_answer(),
                TicketRow.completed_at >= start,
                TicketRow.completed_at < end,
                or_(TicketRow.resolution.is_(None), TicketRow.resolution != "rejected"),
            )
            .order_by(TicketRow.completed_at, TicketRow.id)
        )
    )


def merged_away(session: Session, ids: Sequence[int]) -> set[int]:
    """Tickets whose solution a curator merged into another ticket."""
    if not ids:
        return set()
    return set(
        session.scalars(
            select(TicketHistoryRow.ticket_id).where(
                TicketHistoryRow.ticket_id.in_(ids), TicketHistoryRow.action == "merged_into"
            )
        )
    )


def duplicate_groups(tickets: Sequence[TicketRow]) -> list[DuplicateGroup]:
    """Groups of tickets whose texts are alike (TF-IDF cosine over Polish stems), largest first."""
    if len(tickets) < 2:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [f"{t.title} {t.title} {t.description}" for t in tickets]
    try:
        matrix = TfidfVectorizer(analyzer=stems, sublinear_tf=True).fit_transform(texts)
    except ValueError:  # no words at all
        return []
    cosine = (matrix @ matrix.T).tocoo()
    parent = list(range(len(tickets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best: dict[int, float] = {}
    for i, j, value in zip(cosine.row, cosine.col, cosine.data, strict=True):
        if i < j and value >= DUPLICATE_MIN_COSINE:
            parent[root(int(i))] = root(int(j))
            best[int(i)] = max(best.get(int(i), 0.0), float(value))
    members: dict[int, list[int]] = {}
    for i in range(len(tickets)):
        members.setdefault(root(i), []).append(i)
    groups = [
        DuplicateGroup(
            [brief(tickets[i]) for i in group], round(max(best.get(i, 0.0) for i in group), 3)
        )
        for group in members.values()
        if len(group) > 1
    ]
    return sorted(groups, key=lambda g: (-len(g.tickets), -g.similarity, g.tickets[0].id))


def curation_queue(session: Session, week: str) -> CurationQueue:
    """The week's resolved tickets lacking keywords, solution or KB links, and likely duplicates."""
    start, end = week_bounds(week)
    tickets = resolved_in(session, start, end, with_solution=False)
    merged = merged_away(session, [t.id for t in tickets])
    items: list[QueueItem] = []
    for t in tickets:
        missing = [
            name
            for name, lacking in (
                ("keywords", not t.keywords),
                ("solution", not (t.solution or "").strip()),
                ("kb_links", not t.kb_links),
                ("verification", not t.verified),
            )
            if lacking
        ]
        if missing and missing != ["verification"] and t.id not in merged:
            items.append(QueueItem(brief(t), missing))
    live = [t for t in tickets if t.id not in merged and (t.solution or "").strip()]
    return CurationQueue(week, items, duplicate_groups(live))


def _top_reused(session: Session, start: dt.datetime, end: dt.datetime) -> list[ReusedSolution]:
    count = func.count(ReuseRow.id)
    rows = session.execute(
        select(ReuseRow.source_ticket_id, count)
        .where(ReuseRow.at >= start, ReuseRow.at < end)
        .group_by(ReuseRow.source_ticket_id)
        .order_by(count.desc(), ReuseRow.source_ticket_id)
        .limit(TOP_N)
    ).all()
    out = []
    for ticket_id, n in rows:
        t = session.get(TicketRow, ticket_id)
        if t is not None:
            out.append(ReusedSolution(brief(t), int(n), t.reuse_count))
    return out


def _zero_result_queries(
    session: Session, start: dt.datetime, end: dt.datetime
) -> list[QueryCount]:
    count = func.count(SearchQueryRow.id)
    rows = session.execute(
        select(
            SearchQueryRow.folded,
            func.min(SearchQueryRow.query),
            count,
            func.count(func.distinct(SearchQueryRow.user_id)),
        )
        .where(SearchQueryRow.at >= start, SearchQueryRow.at < end, SearchQueryRow.hits == 0)
        .group_by(SearchQueryRow.folded)
        .order_by(count.desc(), SearchQueryRow.folded)
        .limit(2 * TOP_N)
    ).all()
    return [QueryCount(str(q), int(n), int(u)) for _, q, n, u in rows]


def _broken_links(session: Session) -> list[BrokenLink]:
    out = []
    for row in broken_links(session):
        ids = list(row.ticket_ids or [])
        tickets = (
            list(
                session.scalars(
                    select(TicketRow).where(TicketRow.id.in_(ids)).order_by(TicketRow.id)
                )
            )
            if ids
            else []
        )
        out.append(
            BrokenLink(
                row.url, row.http_status, row.error, row.checked_at, row.broken_since,
                [brief(t) for t in tickets],
            )
        )  # fmt: skip
    return out


def build_report(session: Session, week: str) -> WeekReport:
    """The curation report of one ISO week; broken links are those of the latest check."""
    start, end = week_bounds(week)
    tickets = resolved_in(session, start, end)
    merged = merged_away(session, [t.id for t in tickets])
    modules: dict[str, int] = {}
    for t in tickets:
        modules[t.module or ""] = modules.get(t.module or "", 0) + 1
    new_keywords = session.scalars(
        select(KeywordRow)
        .where(KeywordRow.created_at >= start, KeywordRow.created_at < end)
        .order_by(KeywordRow.created_at, KeywordRow.id)
    )
    return WeekReport(
        week=week,
        resolved=len(tickets),
        with_keywords=sum(bool(t.keywords) for t in tickets),
        with_kb_links=sum(bool(t.kb_links) for t in tickets),
        verified=sum(bool(t.verified) for t in tickets),
        missing_keywords=[brief(t) for t in tickets if not t.keywords],
        missing_kb_links=[brief(t) for t in tickets if not t.kb_links],
        duplicate_groups=duplicate_groups([t for t in tickets if t.id not in merged]),
        top_reused=_top_reused(session, start, end),
        zero_result_queries=_zero_result_queries(session, start, end),
        new_keywords=[
            KeywordBrief(k.id, k.name, list(k.synonyms or []), k.created_at) for k in new_keywords
        ],
        broken_links=_broken_links(session),
        by_module=[
            ModuleCount(m, n) for m, n in sorted(modules.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


# ---------------------------------------------------------------- curator's fixes


class CurationEdit(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a curator adds to a ticket; keywords are stored in their preferred form."""

    add_keywords: Words = msgspec.field(default_factory=list)
    add_kb_links: UrlList = msgspec.field(default_factory=list)
    solution: Text | None = None
    verified: bool | None = None


class MergeRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    into_ticket_id: int


def curate_ticket(session: Session, actor: Actor, ticket_id: int, edit: CurationEdit) -> TicketRow:
    """Add keywords / KB links, set the solution, mark verified; re-indexed via the outbox."""
    ticket = get_ticket(session, ticket_id)
    changes: dict[str, Any] = {}
    if edit.add_keywords:
        changes["keywords"] = canonical_keywords(
            session, [*(ticket.keywords or []), *edit.add_keywords]
        )
    if edit.add_kb_links:
        changes["kb_links"] = [*(ticket.kb_links or []), *edit.add_kb_links]
    if edit.solution is not None:
        changes["solution"] = edit.solution
    if edit.verified is not None:
        changes["verified"] = edit.verified
    return update_ticket(session, actor, ticket_id, TicketPatch(**changes))


def merge_solution(session: Session, actor: Actor, ticket_id: int, into_id: int) -> TicketRow:
    """Move a duplicate's knowledge into another ticket: its solution is appended there (once),
    its keywords and KB links join the target's, and it keeps a pointer to the target."""
    if ticket_id == into_id:
        raise ValidationFailed("into_ticket_id", "a ticket cannot be merged into itself")
    source = get_ticket(session, ticket_id, for_update=True)
    target = get_ticket(session, into_id, for_update=True)
    if target.state != "completed":
        raise ValidationFailed("into_ticket_id", f"{target.number} is not solved")
    solution = (target.solution or "").rstrip()
    extra = (source.solution or "").strip()
    if extra and extra not in solution:
        solution = f"{solution}\n\n[{source.number}] {extra}".strip()
    update_ticket(
        session,
        actor,
        target.id,
        TicketPatch(
            solution=solution,
            keywords=canonical_keywords(session, [*target.keywords, *source.keywords]),
            kb_links=[*target.kb_links, *source.kb_links],
        ),
    )
    record(session, target, actor, "merged_from", new=source.number)
    update_ticket(
        session,
        actor,
        source.id,
        TicketPatch(solution=f"Rozwiązanie scalone ze zgłoszeniem {target.number}."),
    )
    record(session, source, actor, "merged_into", old=extra, new=target.number)
    session.flush()
    return target


# ---------------------------------------------------------------- search log


SearchQuery = tuple[int | None, str, int, dt.datetime]
"""(user id, query as typed, hits, when) of one search a consultant settled on."""


def log_search_query(
    db: Database, user_id: int | None, query: str, hits: int, at: dt.datetime | None = None
) -> None:
    """Keep one query for the report (see `record_search_query`)."""
    log_search_queries(db, [(user_id, query, hits, at or utcnow())])


def log_search_queries(db: Database, queries: list[SearchQuery]) -> None:
    """Keep a batch of queries for the report in one transaction."""
    if not queries:
        return
    with db.transaction() as s:
        for user_id, query, hits, at in queries:
            record_search_query(s, user_id, query, hits, at)
            s.flush()  # the next query of the same user must see this one


def record_search_query(
    s: Session, user_id: int | None, query: str, hits: int, at: dt.datetime
) -> None:
    """As-you-type searches arrive once per keystroke: a query from the same user within
    `TYPING_WINDOW_S` of their last one that extends or trims it replaces that row, so the
    row ends holding what the user settled on."""
    text = " ".join(query.split())[:500]
    folded = folded_text(text)[:500]
    if not folded:
        return
    # Without a user (a UI fragment that passes none) the anonymous rows collapse together.
    same_user = (
        SearchQueryRow.user_id.is_(None) if user_id is None else SearchQueryRow.user_id == user_id
    )
    last = s.scalar(
        select(SearchQueryRow)
        .where(
            same_user,
            SearchQueryRow.at >= at - dt.timedelta(seconds=TYPING_WINDOW_S),
            SearchQueryRow.at <= at,
        )
        .order_by(SearchQueryRow.at.desc(), SearchQueryRow.id.desc())
        .limit(1)
    )
    if last is not None and (folded.startswith(last.folded) or last.folded.startswith(folded)):
        last.query, last.folded, last.hits, last.at = text, folded, hits, at
    else:
        s.add(SearchQueryRow(at=at, user_id=user_id, query=text, folded=folded, hits=hits))


# ---------------------------------------------------------------- schedule and digest


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


def run_scheduled(container: Container, now: dt.datetime | None = None) -> list[str]:
    """Called every minute by every worker: starts this week's run (link check, then the
    digest of the previous week) once, whoever calls first. Returns the periods started."""
    now = now or utcnow()
    cfg = container.extras.get("curation_settings")
    if not isinstance(cfg, CurationSettings):
        cfg = container.extras["curation_settings"] = load_curation_settings()
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


def enqueue_digest(session: Session, container: Container, week: str) -> int:
    """Queue the week's digest to every curator once per week; returns mails queued."""
    from tickets.curation_chart import digest_html, report_text

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
    container: Container, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    """`curation.linkcheck` (in budgeted rounds, then the digest when asked) and
    `curation.digest`."""

    def link_check(job: OutboxJob) -> None:
        p = job.payload
        started = dt.datetime.fromisoformat(str(p["started_at"]))
        summary = run_link_check(container.db, load_linkcheck_settings(), started)
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


def main(week: str | None = None, fmt: str = "text") -> None:
    """`sedno curation report [--week YYYY-Www]`: print the report (text, json, csv or html)."""
    from api.bootstrap import build_container
    from api.settings import load_settings
    from tickets.curation_chart import report_csv, report_html, report_text

    container = build_container(load_settings())
    try:
        week = week or last_full_week()
        with container.db.read() as s:
            report = build_report(s, week)
    finally:
        container.close()
    link = f"{container.settings.public_url}/curation/week?week={week}"
    if fmt == "json":
        out = msgspec.json.format(msgspec.json.encode(report)).decode()
    elif fmt == "csv":
        out = report_csv(report)
    elif fmt == "html":
        out = report_html(report)
    else:
        out = report_text(report, link)
    print(out)
