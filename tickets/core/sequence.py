"""Gap-free ticket numbers: a counter row bumped inside the creating transaction.

The `UPDATE … SET last_n = last_n + 1 RETURNING last_n` takes the row lock on PostgreSQL (and
SQLite's `BEGIN IMMEDIATE` holds the database lock), so concurrent creators queue up behind it
and a rolled-back creation rolls the counter back with it: no gaps, no repeats.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tickets.core.orm import TicketCounterRow

_table = cast(Table, TicketCounterRow.__table__)


def _ensure_counter(session: Session, code: str, year: int) -> None:
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(_table).values(definition_code=code, year=year, last_n=0).on_conflict_do_nothing()
    )


def take_numbers(session: Session, code: str, year: int, count: int) -> range:
    """Take `count` consecutive numbers of `code` in `year` in one statement."""
    _ensure_counter(session, code, year)
    last = (
        session.connection()
        .execute(
            update(_table)
            .where(_table.c.definition_code == code, _table.c.year == year)
            .values(last_n=_table.c.last_n + count)
            .returning(_table.c.last_n)
        )
        .scalar_one()
    )
    return range(int(last) - count + 1, int(last) + 1)


def next_number(session: Session, code: str, year: int) -> int:
    """Take the next number of `code` in `year`; valid only if the transaction commits."""
    return take_numbers(session, code, year, 1)[0]


def reserve_number(session: Session, code: str, year: int, n: int) -> None:
    """Record that `n` is used (an imported ticket kept its old number)."""
    _ensure_counter(session, code, year)
    session.execute(
        update(TicketCounterRow)
        .where(
            TicketCounterRow.definition_code == code,
            TicketCounterRow.year == year,
            TicketCounterRow.last_n < n,
        )
        .values(last_n=n)
    )


def current_number(session: Session, code: str, year: int) -> int:
    value = session.scalar(
        select(func.coalesce(TicketCounterRow.last_n, 0)).where(
            TicketCounterRow.definition_code == code, TicketCounterRow.year == year
        )
    )
    return int(value or 0)
