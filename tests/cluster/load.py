"""Load test on the `make cluster` layout: `python -m tests.cluster.load [--tickets N] ...`.

Starts the cluster (PostgreSQL, 2 API replicas, 2 outbox workers), imports N resolved tickets
with `sedno import tickets` from a generated JSONL file, waits for the outbox workers to index
them all, then runs Locust headless from a second process on loopback: U consultants mixing
search-as-you-type, similar-ticket look-ups and ticket updates for D seconds, each consultant
with a token of their own (as in production: the search log and the token check are per user).
Prints the p50/p95 latency and error count per request kind as Locust saw it and as the replicas
measured it (their access log lines), the load average, and a last line
`tickets=N users=U duration_s=D search_p95_ms=… errors=…`.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from tickets.accounts.auth import create_user
from tickets.core.db import Database
from tools.cluster import REPO, Cluster, running_cluster
from tools.search_bench import synthetic_tickets


def write_tickets(path: Path, n: int) -> None:
    """N resolved tickets in the import shape (`docs API.md`)."""
    with path.open("w", encoding="utf-8") as out:
        for doc in synthetic_tickets(n, seed=5):
            line = {
                "external_id": f"load:{doc.id}",
                "definition": "ZS",
                "title": doc.title,
                "description": doc.description,
                "solution": doc.solution,
                "state": "completed",
                "resolution": "resolved",
                "product": doc.product,
                "module": doc.module,
                "version": doc.version,
                "type": doc.type,
                "keywords": list(doc.keywords),
                "kb_links": list(doc.kb_links),
                "reported_at": "2025-03-01T10:00:00Z",
                "completed_at": "2025-03-02T12:00:00Z",
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def metric(cluster: Cluster, name: str) -> float:
    text = httpx.get(f"{cluster.urls[0]}/metrics", timeout=30).text
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def import_and_index(cluster: Cluster, n: int, timeout_s: float = 1800) -> tuple[float, float]:
    """Import N tickets and wait until the index holds them; return both durations in s."""
    jsonl = cluster.root / "tickets.jsonl"
    write_tickets(jsonl, n)
    env = cluster._env()
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "api.cli", "import", "tickets", str(jsonl)],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    imported = time.monotonic() - started
    deadline = time.monotonic() + timeout_s
    h = {"Authorization": f"Bearer {cluster.admin_token}"}
    while time.monotonic() < deadline:
        total = httpx.get(f"{cluster.urls[1]}/api/search", params={"q": ""}, headers=h, timeout=30)
        if metric(cluster, "sedno_index_pending") == 0 and total.json().get("total", 0) >= n:
            break
        time.sleep(2)
    else:
        raise RuntimeError(f"the index did not reach {n} tickets in {timeout_s:.0f} s")
    return imported, time.monotonic() - started - imported


def engine_latency(cluster: Cluster) -> dict[str, tuple[float, float]]:
    """Server-side time in the search engine, summed over replicas: (count, p95 bucket in ms)."""
    buckets: dict[str, dict[float, float]] = {}
    for url in cluster.urls:
        text = httpx.get(f"{url}/metrics", timeout=30).text
        pattern = r'^sedno_search_latency_seconds_bucket\{endpoint="(\w+)",le="([^"]+)"\} (\S+)$'
        for endpoint, le, value in re.findall(pattern, text, re.M):
            bound = float("inf") if le == "+Inf" else float(le)
            series = buckets.setdefault(endpoint, {})
            series[bound] = series.get(bound, 0.0) + float(value)
    out: dict[str, tuple[float, float]] = {}
    for endpoint, series in buckets.items():
        total = series.get(float("inf"), 0.0)
        p95 = next((b for b in sorted(series) if series[b] >= 0.95 * total), float("inf"))
        out[endpoint] = (total, p95 * 1000)
    return out


def server_errors(cluster: Cluster, limit: int = 5) -> list[str]:
    """The first error records (with their tracebacks) the replicas and workers logged."""
    found: list[str] = []
    for name in cluster.procs:
        for line in (cluster.logs / f"{name}.log").read_text(errors="replace").splitlines():
            if '"level": "error"' in line or line.startswith("Traceback"):
                found.append(f"{name}: {line[:4000]}")
                if len(found) >= limit:
                    return found
    return found


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds each process has used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, pid in pids.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def consultant_tokens(cluster: Cluster, n: int) -> list[str]:
    """N consultants, each with a bearer token of their own."""
    db = Database(cluster.postgres.url())
    try:
        with db.transaction() as s:
            return [
                create_user(s, login=f"load{i}", name=f"Konsultant {i}", role="consultant")[1]
                for i in range(n)
            ]
    finally:
        db.dispose()


ACCESS_LINE = re.compile(r"^(\w+) (\S+) (\d{3}) ([0-9.]+)ms$")


def server_latency(cluster: Cluster, since: str) -> dict[str, tuple[int, float, float]]:
    """Per request kind, from the replicas' access log lines after `since` (ISO UTC): the time
    each request spent inside the replica, (count, p50 ms, p95 ms)."""
    times: dict[str, list[float]] = {}
    for name in cluster.procs:
        if not name.startswith("api"):
            continue
        for line in (cluster.logs / f"{name}.log").read_text(errors="replace").splitlines():
            if '"sedno.access"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            match = ACCESS_LINE.match(str(record.get("msg", "")))
            if match is None or str(record.get("ts", "")) < since:
                continue
            method, path, _, ms = match.groups()
            kind = {"/api/search": "search", "/api/search/similar": "similar"}.get(path, "")
            kind = kind or ("update" if method == "PATCH" else "")
            if kind:
                times.setdefault(kind, []).append(float(ms))
    return {
        kind: (len(values), _percentile(values, 0.5), _percentile(values, 0.95))
        for kind, values in times.items()
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_locust(
    cluster: Cluster, users: int, duration_s: int, tickets: int
) -> dict[str, dict[str, float]]:
    prefix = cluster.root / "locust"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LOAD_HOSTS": ",".join(cluster.urls),
        "LOAD_TOKENS": ",".join(consultant_tokens(cluster, users)),
        "LOAD_TICKETS": str(tickets),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "tests" / "cluster" / "locustfile.py"),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(max(1, users // 5)),
            "--run-time",
            f"{duration_s}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        cwd=REPO,
        env=env,
        check=False,  # locust exits 1 when any request failed; the figures tell that
    )
    stats: dict[str, dict[str, float]] = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            stats[row["Name"]] = {
                "requests": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "p50_ms": float(row["50%"] or 0),
                "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0),
                "rps": float(row["Requests/s"] or 0),
            }
    return stats


@click.command()
@click.option("--tickets", default=100_000, show_default=True)
@click.option("--users", default=50, show_default=True)
@click.option("--duration", default=60, show_default=True, help="Seconds of load.")
def main(tickets: int, users: int, duration: int) -> None:
    """Import, index, load; print the figures."""
    with running_cluster(replicas=2, outbox_workers=2, intake_workers=0) as cluster:
        click.echo(cluster.describe())
        imported_s, indexed_s = import_and_index(cluster, tickets)
        click.echo(
            f"imported {tickets} tickets in {imported_s:.1f} s; indexed in {indexed_s:.1f} s more"
        )
        started = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        pids = {name: proc.pid for name, proc in cluster.procs.items()}
        cpu_before = cpu_seconds(pids)
        children_before = os.times()
        stats = run_locust(cluster, users, duration, tickets)
        children_after = os.times()
        cpu = {n: v - cpu_before.get(n, 0.0) for n, v in cpu_seconds(pids).items()}
        cpu["locust"] = (children_after.children_user - children_before.children_user) + (
            children_after.children_system - children_before.children_system
        )
        load = os.getloadavg()
        engine = engine_latency(cluster)
        server = server_latency(cluster, started)
        alive = all(p.poll() is None for p in cluster.procs.values())
        errors_logged = server_errors(cluster)
    click.echo(
        f"{'kind':<10} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7}"
    )
    for name, s in stats.items():
        click.echo(
            f"{name:<10} {s['requests']:>9.0f} {s['failures']:>9.0f} {s['p50_ms']:>8.0f} "
            f"{s['p95_ms']:>8.0f} {s['p99_ms']:>8.0f} {s['rps']:>7.1f}"
        )
    for kind, (count, p50_ms, p95_ms) in sorted(server.items()):
        click.echo(
            f"inside the replicas ({kind}, access log): {count} requests, "
            f"p50 {p50_ms:.0f} ms, p95 {p95_ms:.0f} ms"
        )
    for endpoint, (count, p95_ms) in sorted(engine.items()):
        click.echo(
            f"in the engine ({endpoint}, server side, /metrics): {count:.0f} calls, "
            f"p95 ≤ {p95_ms:g} ms (histogram bucket bound)"
        )
    errors = int(stats.get("Aggregated", {}).get("failures", 0))
    requests = stats.get("Aggregated", {}).get("requests", 0.0) or 1.0
    click.echo(
        "CPU during the load, s (ms per request): "
        + ", ".join(f"{n} {v:.1f} ({1000 * v / requests:.1f})" for n, v in sorted(cpu.items()))
    )
    for line in errors_logged:
        click.echo(f"logged error: {line}")
    click.echo(f"all cluster processes alive after the run: {alive}")
    click.echo(f"load average at the end of the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    click.echo(
        f"tickets={tickets} users={users} duration_s={duration} "
        f"search_p95_ms={stats.get('search', {}).get('p95_ms', float('nan')):.0f} errors={errors}"
    )


if __name__ == "__main__":
    main()
