"""The document both search engines index: one resolved ticket."""

from __future__ import annotations

import msgspec


class TicketDocument(msgspec.Struct, kw_only=True):
    """A knowledge ticket as the search sees it; `id` is the ticket id.

    `resolution` is `resolved`, `rejected` (an answer too, shown as such), or empty (a phone
    event solved on the call).
    """

    id: int
    number: str
    title: str
    description: str = ""
    solution: str = ""
    keywords: list[str] = msgspec.field(default_factory=list)
    kb_links: list[str] = msgspec.field(default_factory=list)
    product: str = ""
    module: str = ""
    version: str = ""
    type: str = ""
    area: str = ""
    project: str = ""
    """The ticket's project id as text (a filter), empty when it has none."""
    resolution: str = ""
    completed_at: int = 0
    verified: bool = False
    reuse_count: int = 0
