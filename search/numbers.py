"""A query that is a ticket number (`ZS/2025/29`, `zs 2025 29`, `2025/29`, `ZS29`).

Such a ticket comes first in the search results whatever its state, so the search box also
opens a ticket the consultant was given the number of.
"""

from __future__ import annotations

import re

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import TicketRow

_NUMBER_QUERY = re.compile(
    r"^\s*(?:(?P<code>[A-Za-z]{1,5})\s*[/ ]?\s*)?"
    r"(?:(?P<year>(?:19|20)\d{2})\s*[/ ]\s*)?"
    r"(?P<n>\d{1,9})\s*$"
)


class NumberQuery(msgspec.Struct, frozen=True):
    """What a typed number names: the sequence number, and the code and year when given."""

    n: int
    code: str | None = None
    year: int | None = None


def parse_number_query(q: str) -> NumberQuery | None:
    """The ticket number `q` spells, or None; a bare number (`29`, a KB article id) is not one."""
    match = _NUMBER_QUERY.match(q)
    if match is None or not (match["code"] or match["year"]):
        return None
    return NumberQuery(
        n=int(match["n"]),
        code=match["code"].upper() if match["code"] else None,
        year=int(match["year"]) if match["year"] else None,
    )


def find_ticket_by_number(session: Session, q: str) -> TicketRow | None:
    """The ticket `q` names, in any state; the latest year's when the year was left out."""
    wanted = parse_number_query(q)
    if wanted is None:
        return None
    query = select(TicketRow).where(TicketRow.seq == wanted.n)
    if wanted.code is not None:
        query = query.where(TicketRow.definition_code == wanted.code)
    if wanted.year is not None:
        query = query.where(TicketRow.year == wanted.year)
    return session.scalars(query.order_by(TicketRow.year.desc(), TicketRow.id).limit(1)).first()
