"""KB link check: which knowledge-base links on solved tickets no longer answer.

Links are fetched with httpx under a per-request timeout, a global concurrency limit and a
politeness delay between two requests to the same host. A link is broken when it answers 4xx
or 5xx (after redirects), times out or cannot be reached; results are kept in
`kb_link_checks`. A run has a time budget so that one outbox job stays inside its lease: the
links not reached are left for the next job of the same run (`checked_at` before its start).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import httpx
import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.db import Database, utcnow
from tickets.core.orm import TicketRow
from tickets.core.settings import env_number
from tickets.curation.orm import KbLinkRow

USER_AGENT = "Sedno-linkcheck/1.0 (+knowledge-base curation)"


class LinkCheckSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How politely links are checked; env `SEDNO_LINKCHECK_*` overrides the defaults."""

    timeout_s: float = 10.0
    """Connect and read timeout of one request."""
    concurrency: int = 8
    """Requests in flight at once, all hosts together."""
    host_delay_s: float = 1.0
    """Pause between the start of two requests to one host."""
    budget_s: float = 90.0
    """Time one job spends before leaving the rest to a follow-up job (outbox lease is 120 s)."""


def load_linkcheck_settings(env: Mapping[str, str]) -> LinkCheckSettings:
    """From the composition root's environment (`SEDNO_LINKCHECK_*`)."""
    d = LinkCheckSettings()
    return LinkCheckSettings(
        timeout_s=env_number(env, "SEDNO_LINKCHECK_TIMEOUT_S", d.timeout_s),
        concurrency=int(env_number(env, "SEDNO_LINKCHECK_CONCURRENCY", d.concurrency, whole=True)),
        host_delay_s=env_number(env, "SEDNO_LINKCHECK_HOST_DELAY_S", d.host_delay_s),
        budget_s=env_number(env, "SEDNO_LINKCHECK_BUDGET_S", d.budget_s),
    )


class LinkResult(msgspec.Struct, frozen=True):
    url: str
    ok: bool
    http_status: int | None
    error: str


class LinkCheckSummary(msgspec.Struct):
    checked: int
    broken: int
    remaining: int


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def is_checkable(url: str) -> bool:
    """Only http(s) links can be fetched (`kb:` references are internal)."""
    return urlsplit(url).scheme in ("http", "https")


class _HostPacer:
    """Spaces the requests to one host `delay_s` apart, whatever the concurrency."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.locks: dict[str, asyncio.Lock] = {}
        self.last: dict[str, float] = {}

    async def wait(self, host: str, deadline: float | None) -> bool:
        """Wait for this host's turn; False (without waiting) when it comes after `deadline`."""
        lock = self.locks.setdefault(host, asyncio.Lock())
        async with lock:
            turn = self.last.get(host, -1e9) + self.delay_s
            if deadline is not None and max(turn, time.monotonic()) >= deadline:
                return False
            pause = turn - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            self.last[host] = time.monotonic()
            return True


async def _check_one(
    client: httpx.AsyncClient,
    url: str,
    pacer: _HostPacer,
    gate: asyncio.Semaphore,
    deadline: float | None,
) -> LinkResult | None:
    if not await pacer.wait(urlsplit(url).netloc.lower(), deadline):
        return None
    async with gate:
        if deadline is not None and time.monotonic() >= deadline:
            return None
        try:
            # GET, not HEAD: many KB servers answer HEAD wrongly; the body is never read.
            async with client.stream("GET", url) as response:
                status = response.status_code
        except httpx.TimeoutException as exc:
            return LinkResult(url, False, None, f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return LinkResult(url, False, None, f"{type(exc).__name__}: {exc}"[:500])
    if status >= 400:
        return LinkResult(url, False, status, f"HTTP {status}")
    return LinkResult(url, True, status, "")


async def check_links(
    urls: Sequence[str], settings: LinkCheckSettings, *, deadline: float | None = None
) -> list[LinkResult]:
    """Check `urls`; those not started before `deadline` (monotonic) are left out."""
    pacer = _HostPacer(settings.host_delay_s)
    gate = asyncio.Semaphore(settings.concurrency)
    timeout = httpx.Timeout(settings.timeout_s)
    limits = httpx.Limits(max_connections=settings.concurrency)
    headers = {"User-Agent": USER_AGENT}
    async with httpx.AsyncClient(
        timeout=timeout, limits=limits, headers=headers, follow_redirects=True, max_redirects=5
    ) as client:
        results = await asyncio.gather(
            *(_check_one(client, u, pacer, gate, deadline) for u in urls)
        )
    return [r for r in results if r is not None]


def collect_links(session: Session) -> dict[str, list[int]]:
    """Every http(s) KB link on a completed ticket → the ids of the tickets carrying it."""
    links: dict[str, list[int]] = {}
    query = (
        select(TicketRow.id, TicketRow.kb_links)
        .where(TicketRow.state == "completed")
        .order_by(TicketRow.id)
        .execution_options(yield_per=2000)
    )
    for ticket_id, kb_links in session.execute(query):
        for url in kb_links or []:
            if is_checkable(url):
                links.setdefault(url, []).append(ticket_id)
    return links


def sync_link_rows(session: Session, links: Mapping[str, list[int]]) -> None:
    """One row per link in use, with its tickets; rows of links no longer used go."""
    rows = {r.url_hash: r for r in session.scalars(select(KbLinkRow))}
    wanted = {url_hash(u): u for u in links}
    for digest, unused in rows.items():
        if digest not in wanted:
            session.delete(unused)
    for digest, url in wanted.items():
        row = rows.get(digest)
        if row is None:
            session.add(KbLinkRow(url_hash=digest, url=url, ticket_ids=sorted(links[url])))
        elif sorted(row.ticket_ids or []) != sorted(links[url]):
            row.ticket_ids = sorted(links[url])
    session.flush()


def record_results(session: Session, results: Sequence[LinkResult], at: dt.datetime) -> None:
    rows = {
        r.url_hash: r
        for r in session.scalars(
            select(KbLinkRow).where(KbLinkRow.url_hash.in_([url_hash(x.url) for x in results]))
        )
    }
    for result in results:
        row = rows.get(url_hash(result.url))
        if row is None:
            continue  # the link left every ticket while it was being checked
        row.checked_at = at
        row.http_status = result.http_status
        row.error = result.error
        if result.ok:
            row.status, row.broken_since = "ok", None
        else:
            row.broken_since = row.broken_since if row.status == "broken" else at
            row.status = "broken"
    session.flush()


def run_link_check(
    db: Database, settings: LinkCheckSettings, started_at: dt.datetime
) -> LinkCheckSummary:
    """Check the links in use not yet checked since `started_at`, within the time budget."""
    deadline = time.monotonic() + settings.budget_s
    with db.transaction() as session:
        sync_link_rows(session, collect_links(session))
        due = [
            row.url
            for row in session.scalars(select(KbLinkRow).order_by(KbLinkRow.id))
            if row.checked_at is None or row.checked_at < started_at
        ]
    results = asyncio.run(check_links(due, settings, deadline=deadline))
    with db.transaction() as session:
        record_results(session, results, utcnow())
    return LinkCheckSummary(
        checked=len(results),
        broken=sum(not r.ok for r in results),
        remaining=len(due) - len(results),
    )


def broken_links(session: Session) -> list[KbLinkRow]:
    return list(
        session.scalars(
            select(KbLinkRow).where(KbLinkRow.status == "broken").order_by(KbLinkRow.url)
        )
    )
