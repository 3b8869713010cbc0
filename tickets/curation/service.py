"""Weekly knowledge-base curation: the queue, per-ticket fixes, the report, the weekly digest.

Weeks are ISO weeks in the support desk's time zone (Europe/Warsaw by default), so a ticket
closed on Sunday 23:30 local time counts in that week. "Resolved" means knowledge completed in
the week and not rejected (`tickets.core.knowledge`: with a solution; a phone event turned into a
task or a cancelled ticket is not). The queue also lists tickets closed as an answer but
still without a solution, for the curator to write it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from search.analysis import stems
from search.keywords import canonical_keywords
from tickets.core.db import Database
from tickets.core.knowledge import closed_as_answer, is_knowledge
from tickets.core.orm import KeywordRow, ReuseRow, TicketHistoryRow, TicketRow
from tickets.core.schemas import Actor, Text, TicketPatch, UrlList, Words
from tickets.core.services import get_ticket, record, update_ticket
from tickets.curation.linkcheck import broken_links
from tickets.curation.orm import SearchQueryRow
from tickets.curation.search_log_buffer import SearchLogBuffer
from tickets.curation.shapes import (
    BrokenLink,
    CurationQueue,
    DuplicateGroup,
    KeywordBrief,
    ModuleCount,
    QueryCount,
    QueueItem,
    ReusedSolution,
    TicketBrief,
    WeekReport,
)
from tickets.curation.weeks import last_full_week, week_bounds
from tickets.domain.errors import ValidationFailed

if TYPE_CHECKING:
    pass


DUPLICATE_MIN_COSINE: Final = 0.5
"""TF-IDF cosine (Polish stems of title + description) above which two tickets look alike."""
TOP_N: Final = 10


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
    # the curator's own words are the curator's decision, dictionary or not
    return update_ticket(
        session, actor, ticket_id, TicketPatch(**changes), allowed_keywords=edit.add_keywords
    )


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
        allowed_keywords=source.keywords or [],
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


def current_report(db: Database, search_log: SearchLogBuffer, week: str | None) -> WeekReport:
    """The report of `week` (default: the last full one), counting this process's searches
    at once (the buffer writes them only when they have settled)."""
    search_log.flush(everything=True)
    with db.read() as s:
        return build_report(s, week or last_full_week())
