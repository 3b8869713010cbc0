"""KB link check against a local HTTP server: 404 and timeouts are broken, 200 is not."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tickets.core.db import Database, utcnow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket
from tickets.curation.linkcheck import LinkCheckSettings, run_link_check
from tickets.curation.orm import KbLinkRow


class _Handler(BaseHTTPRequestHandler):
    hits: list[tuple[str, float]] = []  # noqa: RUF012

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        self.hits.append((path, time.monotonic()))
        if path == "/slow":
            time.sleep(2.0)
        if path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
            self.end_headers()
            return
        status = 200 if path in ("/ok", "/slow") else 404
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except BrokenPipeError:  # the checker gave up waiting: that is the point of /slow
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def kb_server() -> Iterator[str]:
    _Handler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_broken_links_are_found_and_recorded(db: Database, kb_server: str) -> None:
    ok, moved, missing, slow = (f"{kb_server}/{p}" for p in ("ok", "moved", "missing", "slow"))
    with db.transaction() as s:
        t1 = create_ticket(s, SYSTEM, TicketCreate(title="a", kb_links=[ok, missing, "kb:123"]),
                           state="completed")  # fmt: skip
        t2 = create_ticket(s, SYSTEM, TicketCreate(title="b", kb_links=[missing, slow, moved]),
                           state="completed")  # fmt: skip
        create_ticket(s, SYSTEM, TicketCreate(title="open", kb_links=[f"{kb_server}/open"]))
    settings = LinkCheckSettings(timeout_s=0.5, concurrency=4, host_delay_s=0.5, budget_s=30)
    summary = run_link_check(db, settings, utcnow())
    assert (summary.checked, summary.broken, summary.remaining) == (4, 2, 0)
    with db.read() as s:
        rows = {r.url: r for r in s.scalars(select(KbLinkRow))}
        assert set(rows) == {ok, moved, missing, slow}  # `kb:` and the open ticket's skipped
        assert {u for u, r in rows.items() if r.status == "broken"} == {missing, slow}
        assert rows[missing].http_status == 404 and rows[missing].ticket_ids == [t1.id, t2.id]
        assert rows[slow].http_status is None and rows[slow].error.startswith("timeout")
        assert rows[ok].status == "ok" and rows[moved].status == rows[moved].status == "ok"
        assert rows[moved].http_status == 200
    hits = sorted(_Handler.hits, key=lambda h: h[1])
    # The hop a redirect causes belongs to its link's turn; every link's turn is paced.
    starts = [at for i, (_, at) in enumerate(hits) if i == 0 or hits[i - 1][0] != "/moved"]
    assert len(starts) == 4
    # Politeness: three turns of 0.5 s lie between the first and the last request. The server
    # sees each request a little after its turn (more so on a loaded machine: a first request
    # seen 0.22 s late once made a 0.68 s span of 0.3 s turns), so the span may shrink by one
    # request's lag; 1.0 s leaves half a second of it. Unpaced, the four concurrent requests
    # would all arrive within milliseconds.
    assert starts[-1] - starts[0] >= 1.0


def test_a_run_over_budget_leaves_the_rest_for_the_next_job(db: Database, kb_server: str) -> None:
    urls = [f"{kb_server}/ok?{i}" for i in range(4)]
    with db.transaction() as s:
        create_ticket(s, SYSTEM, TicketCreate(title="a", kb_links=urls), state="completed")
    started = utcnow() - dt.timedelta(seconds=1)
    # The budget runs from before the run's own database work, which took over 0.5 s on a
    # loaded machine (no request started: checked 0). Paced a second apart, four requests
    # need 3 s, so a 1.5 s budget still leaves some out.
    settings = LinkCheckSettings(timeout_s=1, concurrency=4, host_delay_s=1.0, budget_s=1.5)
    first = run_link_check(db, settings, started)
    assert 1 <= first.checked < 4 and first.remaining == 4 - first.checked
    rest = run_link_check(db, LinkCheckSettings(host_delay_s=0.01, timeout_s=1), started)
    assert (rest.checked, rest.remaining, rest.broken) == (4 - first.checked, 0, 0)
