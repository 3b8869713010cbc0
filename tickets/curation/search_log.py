"""The search log: queries users typed, coalesced while they type, for the zero-result list."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from search.analysis import folded_text
from tickets.core.db import Database, utcnow
from tickets.curation.orm import SearchQueryRow

TYPING_WINDOW_S: Final = 5.0
"""A user's next query within this many seconds that extends or trims the last one replaces it."""


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
