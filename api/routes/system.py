"""Health, readiness and metrics."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from sqlalchemy import func, select, text

from api.deps import ContainerDep, provide_actor, require
from api.metrics import database_metrics, process_metrics
from tickets.core.orm import TicketRow
from tickets.core.outbox import pending_stats

INDEX_LAG_LIMIT_S = 120.0


@get("/health", tags=["system"])
async def health() -> dict[str, str]:
    """200 while the process is up."""
    return {"status": "ok"}


def readiness(container: ContainerDep) -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Any] = {}
    ok = True
    try:
        with container.db.read() as s:
            s.execute(text("SELECT 1"))
            stats = pending_stats(s)
        checks["database"] = "ok"
    except Exception as exc:
        return False, {"database": f"unreachable: {type(exc).__name__}"}
    try:
        container.search.ping()
        checks["search"] = "ok"
    except Exception as exc:
        ok = False
        checks["search"] = f"unreachable: {type(exc).__name__}: {exc}"[:300]
    lag = stats.get("search.index", {}).get("oldest_age_s", 0.0)
    checks["index_lag_s"] = round(lag, 1)
    if lag > INDEX_LAG_LIMIT_S:
        ok = False
        checks["search_index"] = f"lagging: oldest pending change is {lag:.0f}s old"
    return ok, checks


@get("/ready", sync_to_thread=True, tags=["system"])
def ready(container: ContainerDep) -> Response[dict[str, Any]]:
    """200 when the database and search answer; 503 naming the failing part otherwise."""
    ok, checks = readiness(container)
    return Response(
        {"status": "ready" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


def _is_loopback(request: Request[Any, Any, Any]) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in {"testclient", "localhost"}


@get(
    "/metrics",
    sync_to_thread=True,
    tags=["system"],
    media_type="text/plain; version=0.0.4",
    security=[{}, {"bearer": []}],  # public on loopback, an admin's token elsewhere
)
def metrics(request: Request[Any, Any, Any], container: ContainerDep) -> str:
    """Prometheus text; public on loopback, admin token elsewhere."""
    if not _is_loopback(request):
        actor = provide_actor(request)
        require(actor, "admin")
    lines: list[str] = []
    with container.db.read() as s:
        stats = pending_stats(s)
        by_state = s.execute(select(TicketRow.state, func.count()).group_by(TicketRow.state)).all()
        lines.extend(database_metrics(s))
    lines.extend(process_metrics())
    lines.append("# HELP sedno_outbox_pending Outbox jobs waiting, by kind.")
    lines.append("# TYPE sedno_outbox_pending gauge")
    for kind, item in sorted(stats.items()):
        lines.append(f'sedno_outbox_pending{{kind="{kind}"}} {item["pending"]}')
    lines.append("# HELP sedno_outbox_lag_seconds Age of the oldest pending outbox job, by kind.")
    lines.append("# TYPE sedno_outbox_lag_seconds gauge")
    for kind, item in sorted(stats.items()):
        lines.append(f'sedno_outbox_lag_seconds{{kind="{kind}"}} {item["oldest_age_s"]:.3f}')
    lines.append("# HELP sedno_tickets Tickets by state.")
    lines.append("# TYPE sedno_tickets gauge")
    for state, count in by_state:
        lines.append(f'sedno_tickets{{state="{state}"}} {count}')
    for extra in container.metrics:
        lines.extend(extra())
    lines.append(f"sedno_scrape_timestamp_seconds {time.time():.3f}")
    return "\n".join(lines) + "\n"


__all__ = ["NotAuthorizedException", "health", "metrics", "ready"]
