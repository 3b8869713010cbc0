"""The shapes of the weekly report and the curation queue."""

from __future__ import annotations

import datetime as dt

import msgspec


class TicketBrief(msgspec.Struct):
    id: int
    number: str
    title: str
    module: str
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
    query: str
    count: int
    users: int


class KeywordBrief(msgspec.Struct):
    id: int
    name: str
    synonyms: list[str]
    created_at: dt.datetime


class BrokenLink(msgspec.Struct):
    url: str
    http_status: int | None
    error: str
    checked_at: dt.datetime | None
    broken_since: dt.datetime | None
    tickets: list[TicketBrief]


class ModuleCount(msgspec.Struct):
    module: str
    resolved: int


class WeekReport(msgspec.Struct):
    """`GET /api/curation/week`: counts are of the week's resolved tickets."""

    week: str
    resolved: int
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
