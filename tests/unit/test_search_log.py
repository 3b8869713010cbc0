"""The search log keeps what a consultant settled on, not every keystroke, off the request path."""

from __future__ import annotations

import datetime as dt
import time

from tickets.curation.search_log_buffer import SearchLogBuffer


def test_keystrokes_collapse_and_settled_queries_are_written() -> None:
    written: list[tuple[int | None, str, int]] = []

    batches: list[int] = []

    def writer(db: object, queries: list[tuple[int | None, str, int, dt.datetime]]) -> None:
        batches.append(len(queries))
        written.extend((user_id, query, hits) for user_id, query, hits, _ in queries)

    buffer = SearchLogBuffer(db=None, writer=writer, settle_s=0.3)  # type: ignore[arg-type]
    for typed in ["f", "fa", "fak", "fakt", "faktura"]:
        buffer.record(1, typed, 3)
    buffer.record(2, "ksef", 0)
    buffer.record(1, "urlop", 0)  # a new search: "faktura" has settled
    assert buffer.flush() == 1 and written == [(1, "faktura", 3)]
    time.sleep(0.35)
    assert buffer.flush() == 2
    assert sorted(written[1:]) == [(1, "urlop", 0), (2, "ksef", 0)]
    buffer.record(3, "jpk", 1)
    buffer.close()
    assert written[-1] == (3, "jpk", 1)
    assert batches == [1, 2, 1]  # one write (one transaction) per flush, not per query
