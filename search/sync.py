"""Keeping the index in line with the database, through the outbox.

A `search.index` job names ticket ids only; the handler reads their current state, so jobs
can run in any order, twice, or after a long outage, and the index still ends up right.

Index jobs are coalesced (`INDEX_COALESCE_S`): a running worker takes them at most about once a
window, all at once, so a burst of ticket updates is one index commit, one new segment and one
reader reload in every replica, instead of one each.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import func, select

from search.documents import TicketDocument
from search.ports import IndexSettings, SearchEngine, SearchRejected, SearchUnavailable
from search.stopwords import stop_words
from tickets.core.knowledge import is_knowledge, knowledge_ids
from tickets.core.orm import TicketRow
from tickets.core.outbox import (
    Coalesced,
    OutboxJob,
    OutboxJobRow,
    PermanentFailure,
    RetryLater,
    enqueue,
)
from tickets.core.runtime import Runtime
from tickets.core.services import INDEX_JOB


class SyncRuntime(Runtime, Protocol):
    """Sync's needs: the process parts and the search engine."""

    @property
    def search(self) -> SearchEngine: ...


log = logging.getLogger("sedno.search")
CHUNK = 2000
INDEX_COALESCE_S = 1.0
"""How long an index job may wait for others to share its commit (search lags this much more)."""


def ticket_document(row: TicketRow) -> TicketDocument:
    completed = row.completed_at or row.updated_at
    return TicketDocument(
        id=row.id,
        number=row.number,
        title=row.title,
        description=row.description or "",
        solution=row.solution or "",
        keywords=list(row.keywords or []),
        kb_links=list(row.kb_links or []),
        product=row.product or "",
        module=row.module or "",
        version=row.version or "",
        type=row.type or "",
        area=row.area or "",
        project=str(row.project_id) if row.project_id else "",
        resolution=row.resolution or "",
        completed_at=int(completed.timestamp()) if isinstance(completed, dt.datetime) else 0,
        verified=bool(row.verified or row.kb_links),
        reuse_count=row.reuse_count or 0,
    )


def index_settings(container: SyncRuntime) -> IndexSettings:
    """Settings with the keyword dictionary's synonyms, when curation provides them."""
    try:
        from search.keywords import synonym_map
    except ImportError:
        with container.db.read() as s:
            return IndexSettings(stop_words=stop_words(s))
    with container.db.read() as s:
        return IndexSettings(synonyms=synonym_map(s), stop_words=stop_words(s))


def sync_tickets(container: SyncRuntime, ticket_ids: Iterable[int]) -> tuple[int, int]:
    """Upsert the knowledge tickets (`tickets.core.knowledge`), delete the rest; returns (upserted,
    deleted)."""
    ids = sorted(set(ticket_ids))
    engine: SearchEngine = container.search
    upserted = deleted = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with container.db.read() as s:
            knowledge = knowledge_ids(s, chunk)
            rows = s.scalars(select(TicketRow).where(TicketRow.id.in_(knowledge)))
            docs = [ticket_document(r) for r in rows]
        keep = {d.id for d in docs}
        gone = [i for i in chunk if i not in keep]
        if docs:
            engine.wait(engine.upsert(docs), timeout_s=300)
            upserted += len(docs)
        if gone:
            engine.wait(engine.delete(gone), timeout_s=300)
            deleted += len(gone)
    return upserted, deleted


def _ids_of(jobs: Sequence[OutboxJob]) -> list[int]:
    ids: list[int] = []
    for job in jobs:
        if "ticket_id" in job.payload:
            ids.append(int(job.payload["ticket_id"]))
        ids.extend(int(i) for i in job.payload.get("ticket_ids", ()))
    return ids


def register_outbox_handlers(
    container: SyncRuntime, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    def index_batch(jobs: Sequence[OutboxJob]) -> None:
        try:
            sync_tickets(container, _ids_of(jobs))
        except SearchRejected as exc:  # the rest of the batch is indexed; these never will be
            raise PermanentFailure(f"search engine refused tickets {exc.ids}: {exc}") from exc
        except SearchUnavailable as exc:
            raise RetryLater(f"search engine unavailable: {exc}") from exc

    def apply_settings(job: OutboxJob) -> None:
        try:
            engine: SearchEngine = container.search
            engine.wait(engine.configure(index_settings(container)), timeout_s=300)
        except SearchUnavailable as exc:
            raise RetryLater(f"search engine unavailable: {exc}") from exc

    batch[INDEX_JOB] = Coalesced(index_batch, INDEX_COALESCE_S)
    single["search.settings"] = apply_settings


def reindex_all(container: SyncRuntime, *, progress: bool = False) -> int:
    """Rebuild the index from the database (knowledge tickets only)."""
    engine: SearchEngine = container.search
    engine.wait(engine.delete_all(), timeout_s=600)
    engine.wait(engine.configure(index_settings(container)), timeout_s=600)
    with container.db.read() as s:
        total = s.scalar(select(func.count()).select_from(TicketRow).where(is_knowledge())) or 0
    bar = None
    if progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("reindex"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()
        )
        bar.start()
        task = bar.add_task("reindex", total=total)
    done = 0
    last_id = 0
    try:
        while True:
            with container.db.read() as s:
                rows = list(
                    s.scalars(
                        select(TicketRow)
                        .where(is_knowledge(), TicketRow.id > last_id)
                        .order_by(TicketRow.id)
                        .limit(CHUNK)
                    )
                )
                docs = [ticket_document(r) for r in rows]
            if not docs:
                break
            engine.wait(engine.upsert(docs), timeout_s=600)
            last_id = docs[-1].id
            done += len(docs)
            if bar is not None:
                bar.update(task, completed=done)
    finally:
        if bar is not None:
            bar.stop()
    return done


def repopulate_if_empty(container: SyncRuntime, now: object = None) -> int:
    """Refill an index that came up empty (a new layout, a lost disk) from the database."""
    engine: SearchEngine = container.search
    try:
        if engine.count() > 0:
            return 0
    except SearchUnavailable:
        return 0
    with container.db.transaction() as s:
        ids = list(s.scalars(select(TicketRow.id).where(is_knowledge())))
        pending = s.scalar(
            select(func.count())
            .select_from(OutboxJobRow)
            .where(OutboxJobRow.kind == INDEX_JOB, OutboxJobRow.status == "pending")
        )
        if not ids or pending:
            return 0
        for start in range(0, len(ids), CHUNK):
            enqueue(s, INDEX_JOB, {"ticket_ids": ids[start : start + CHUNK]})
    log.warning("search index was empty: queued %d knowledge tickets for indexing", len(ids))
    return len(ids)
