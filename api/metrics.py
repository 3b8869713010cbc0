"""Prometheus metrics: process-local instruments (search latency, HTTP requests) and gauges
and counters read from the database, so every replica reports the same cluster-wide figures."""

from __future__ import annotations

from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.core.instruments import Counter, escape_label
from tickets.core.outbox import pending_stats
from tickets.knowledge.service import SEARCH_LATENCY

INDEX_KIND: Final = "search.index"


HTTP_REQUESTS = Counter(
    "sedno_http_requests_total", "HTTP requests served by this process, by method and status."
)


def database_metrics(session: Session) -> list[str]:
    """Cluster-wide figures from the database: queue depth, outbox and index lag, intake."""
    from intake.orm import IntakeCallRow

    lines: list[str] = []
    stats = pending_stats(session)
    pending_calls = session.execute(
        select(IntakeCallRow.classification, func.count())
        .where(IntakeCallRow.status == "pending")
        .group_by(IntakeCallRow.classification)
    ).all()
    lines += [
        "# HELP sedno_intake_pending Intake calls waiting for a decision, by classification.",
        "# TYPE sedno_intake_pending gauge",
    ]
    for classification, count in sorted(pending_calls):
        lines.append(
            f'sedno_intake_pending{{classification="{escape_label(classification)}"}} {count}'
        )
    created = session.execute(
        select(IntakeCallRow.source, func.count()).group_by(IntakeCallRow.source)
    ).all()
    lines += [
        "# HELP sedno_intake_calls_total Intake calls created, by source (rate() gives intake rates).",
        "# TYPE sedno_intake_calls_total counter",
    ]
    for source, count in sorted(created):
        lines.append(f'sedno_intake_calls_total{{source="{escape_label(source)}"}} {count}')
    index = stats.get(INDEX_KIND, {"pending": 0, "oldest_age_s": 0.0})
    lines += [
        "# HELP sedno_index_lag_seconds Age of the oldest change not yet in the search index.",
        "# TYPE sedno_index_lag_seconds gauge",
        f"sedno_index_lag_seconds {index['oldest_age_s']:.3f}",
        "# HELP sedno_index_pending Changes waiting to reach the search index.",
        "# TYPE sedno_index_pending gauge",
        f"sedno_index_pending {index['pending']}",
    ]
    return lines


def process_metrics() -> list[str]:
    return [*SEARCH_LATENCY.render(), *HTTP_REQUESTS.render()]
