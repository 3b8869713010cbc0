"""Request ids in responses, logs and outbox jobs; Prometheus metrics a scraper can use."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from api.logs import JsonFormatter
from api.middleware import RequestIdLogFilter
from tests.services.apps import app_fixture, container_of, serving
from tickets.accounts.auth import ensure_bootstrap_admin
from tickets.core.db import Database
from tickets.core.outbox import OutboxJob, OutboxJobRow, OutboxWorker
from tickets.core.settings import Settings, load_settings

ADMIN = "observability-admin-token"
H = {"Authorization": f"Bearer {ADMIN}"}


def _settings(data_dir: Path, db: Database) -> Settings:
    return load_settings(
        {"SEDNO_DATA_DIR": str(data_dir), "SEDNO_ADMIN_TOKEN": ADMIN, "SEDNO_DATABASE_URL": db.url}
    )


app_client = app_fixture(_settings)  # one started app for the module


@pytest.fixture
def client(db: Database, tmp_path: Path, app_client: TestClient[Any]) -> Iterator[TestClient[Any]]:
    with db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
    with serving(app_client, container_of(_settings(tmp_path / "data", db), db)) as c:
        yield c


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def test_request_id_is_echoed_or_made(client: TestClient[Any]) -> None:
    r = client.get("/health", headers={"X-Request-ID": "lb-7f3a.01"})
    assert r.headers["x-request-id"] == "lb-7f3a.01"
    made = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/health").headers["x-request-id"] != made
    # A header that could forge log lines is replaced, not echoed.
    hostile = client.get("/health", headers={"X-Request-ID": 'a b" }{ ' + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


def test_request_id_reaches_logs_outbox_jobs_and_the_worker_logs(
    client: TestClient[Any], db: Database, json_log: io.StringIO
) -> None:
    rid = "req-observe-0001"
    r = client.post(
        "/api/tickets",
        json={"definition": "ZS", "title": "Błąd wydruku", "description": "Nie drukuje faktur."},
        headers={**H, "X-Request-ID": rid},
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    for target in ("analysing", "in_progress"):
        client.post(f"/api/tickets/{tid}/transition", json={"to": target}, headers=H)
    r = client.post(
        f"/api/tickets/{tid}/transition",
        json={"to": "completed", "resolution": "resolved", "solution": "Sterownik."},
        headers={**H, "X-Request-ID": "req-complete-0002"},
    )
    assert r.status_code == 200, r.text
    with db.read() as s:
        jobs = [
            OutboxJob(r.id, r.kind, dict(r.payload), r.attempts, r.created_at, r.request_id)
            for r in s.scalars(select(OutboxJobRow).where(OutboxJobRow.status == "pending"))
        ]
    assert jobs, "completing a ticket enqueued no outbox job"
    assert all(j.request_id for j in jobs), "a job enqueued in a request lacks its request id"
    assert "req-complete-0002" in {j.request_id for j in jobs}

    access = [rec for rec in _records(json_log) if rec["logger"] == "sedno.access"]
    assert any(rec.get("request_id") == rid and "POST /api/tickets" in rec["msg"] for rec in access)

    seen: list[str | None] = []

    def handler(job: OutboxJob) -> None:
        logging.getLogger("sedno.test.job").info("running job %s", job.id)
        seen.append(job.request_id)

    kinds = {j.kind for j in jobs}
    OutboxWorker(db, dict.fromkeys(kinds, handler)).drain(timeout_s=10)
    job_logs = [rec for rec in _records(json_log) if rec["logger"] == "sedno.test.job"]
    assert len(job_logs) == len(jobs)
    assert [rec.get("request_id") for rec in job_logs] == seen
    assert "req-complete-0002" in seen


def _metric(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{label_text}}}" if labels else name) + r" ([0-9.e+-]+)$"
    match = re.search(pattern, text, re.M)
    assert match, f"{name} {labels} not in /metrics"
    return float(match.group(1))


def test_metrics_report_queues_lags_intake_and_search_latency(client: TestClient[Any]) -> None:
    before = client.get("/metrics").text
    searches_before = (
        _metric(before, "sedno_search_latency_seconds_count", endpoint="search")
        if 'sedno_search_latency_seconds_count{endpoint="search"}' in before
        else 0.0
    )
    form = {
        "name": "Jan Nowak",
        "email": "jan@firma.pl",
        "subject": "Pytanie o licencję",
        "body": "Dzień dobry, jak przenieść licencję na nowy serwer?",
    }
    assert client.post("/api/intake/form", json=form).status_code == 202
    for q in ("fak", "faktu", "faktura"):
        assert client.get(f"/api/search?q={q}", headers=H).status_code == 200
    r = client.post(
        "/api/tickets",
        json={"definition": "ZS", "title": "Zamknięcie", "description": "Test."},
        headers=H,
    )
    tid = r.json()["id"]
    for target in ("analysing", "in_progress"):
        client.post(f"/api/tickets/{tid}/transition", json={"to": target}, headers=H)
    client.post(
        f"/api/tickets/{tid}/transition",
        json={"to": "completed", "resolution": "resolved", "solution": "ok"},
        headers=H,
    )
    text = client.get("/metrics").text
    assert _metric(text, "sedno_intake_calls_total", source="form") == 1
    pending = sum(
        float(v)
        for v in re.findall(r'^sedno_intake_pending\{classification="[a-z_]+"\} (\d+)', text, re.M)
    )
    assert pending == 1
    assert (
        _metric(text, "sedno_search_latency_seconds_count", endpoint="search")
        == searches_before + 3
    )
    assert _metric(text, "sedno_search_latency_seconds_bucket", endpoint="search", le="+Inf") == (
        searches_before + 3
    )
    assert _metric(text, "sedno_index_pending") >= 1
    assert _metric(text, "sedno_index_lag_seconds") >= 0
    assert _metric(text, "sedno_outbox_lag_seconds", kind="search.index") >= 0
    assert "# TYPE sedno_http_requests_total counter" in text
