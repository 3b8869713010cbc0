"""Numbers CODE/YEAR/N: per definition per year, from 1, no gaps, no repeats, under concurrency."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from tickets.core.db import Database
from tickets.core.orm import TicketRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket

YEAR = dt.datetime.now(dt.UTC).year


def _create_many(
    db: Database, count: int, errors: list[BaseException], barrier: threading.Barrier
) -> None:
    try:
        barrier.wait()
        for i in range(count):
            with db.transaction() as s:
                create_ticket(s, SYSTEM, TicketCreate(definition="ZS", title=f"t{i}"))
    except BaseException as exc:  # pragma: no cover - reported below
        errors.append(exc)


def _numbers(db: Database, code: str) -> list[int]:
    with db.read() as s:
        return sorted(s.scalars(select(TicketRow.seq).where(TicketRow.definition_code == code)))


@pytest.mark.parametrize("writers", [8])
def test_concurrent_writers_get_1_to_n(db: Database, writers: int) -> None:
    per_writer = 25
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)
    threads = [
        threading.Thread(target=_create_many, args=(db, per_writer, errors, barrier))
        for _ in range(writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _numbers(db, "ZS") == list(range(1, writers * per_writer + 1))
    with db.read() as s:
        numbers = set(s.scalars(select(TicketRow.number)))
    assert f"ZS/{YEAR}/{writers * per_writer}" in numbers


def test_rolled_back_creation_leaves_no_gap(db: Database) -> None:
    with db.transaction() as s:
        create_ticket(s, SYSTEM, TicketCreate(title="first"))
    with pytest.raises(RuntimeError), db.transaction() as s:
        create_ticket(s, SYSTEM, TicketCreate(title="lost"))
        raise RuntimeError("the request failed after the number was taken")
    with db.transaction() as s:
        third = create_ticket(s, SYSTEM, TicketCreate(title="second"))
    assert third.number == f"ZS/{YEAR}/2"
    assert _numbers(db, "ZS") == [1, 2]


def test_each_definition_counts_separately(db: Database) -> None:
    with db.transaction() as s:
        a = create_ticket(s, SYSTEM, TicketCreate(definition="ZW", title="a"))
        b = create_ticket(s, SYSTEM, TicketCreate(definition="KOM", title="b"))
        c = create_ticket(s, SYSTEM, TicketCreate(definition="ZW", title="c"))
    assert (a.number, b.number, c.number) == (f"ZW/{YEAR}/1", f"KOM/{YEAR}/1", f"ZW/{YEAR}/2")


def test_imported_number_is_kept_and_new_ones_follow(db: Database) -> None:
    with db.transaction() as s:
        create_ticket(
            s, SYSTEM, TicketCreate(title="old"), number=f"ZS/{YEAR}/41", external_id="x:1"
        )
        new = create_ticket(s, SYSTEM, TicketCreate(title="new"))
    assert new.number == f"ZS/{YEAR}/42"
