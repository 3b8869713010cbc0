"""The shapes of the weekly report and the curation queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from tickets.core import examples as ex


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
