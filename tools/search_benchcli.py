"""`sedno search bench`: the engine in-process, then the same queries through the HTTP API."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from search.embedded import EmbeddedSearchEngine
from tools.search_bench import (
    FTS5Baseline,
    bench_queries,
    bench_tickets,
    format_bench,
    index_in_batches,
    measure_latency,
    measure_side_by_side,
    run_bench,
)

TOKEN = "bench-admin-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEDNO_DATA_DIR": str(data_dir),
        "SEDNO_ADMIN_TOKEN": TOKEN,
        "SEDNO_RUN_WORKERS": "0",
    }
    env.pop("SEDNO_DATABASE_URL", None)
    env.pop("SEDNO_SEARCH_URL", None)
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"], env=env, check=True, capture_output=True
    )
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-workers"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_bench_cli(docs: int, queries: int, relevance_docs: int = 20_000) -> str:
    # httpx logs every request at INFO: that logging would be timed as API latency.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="sedno-bench-") as tmp:
        base = Path(tmp)
        report = run_bench(
            docs, work_dir=base / "inproc", queries=queries, relevance_docs=relevance_docs
        )
        data_dir = base / "http"
        engine = EmbeddedSearchEngine(data_dir / "search" / "tickets")
        tickets = bench_tickets(docs)
        index_in_batches(engine, tickets)
        engine.close()
        qs = bench_queries(tickets, queries)
        fts = FTS5Baseline(base / "fts5-beside-http.sqlite")
        fts.index(tickets)
        del tickets
        port = _free_port()
        server = _serve(data_dir, port)
        try:
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=30,
            ) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("the API server did not start")
                    time.sleep(0.2)

                def http_query(q: str) -> None:
                    r = client.get("/api/search", params={"q": q, "limit": 10})
                    r.raise_for_status()

                # Query by query in turn with FTS5, so that both see the machine as it is.
                pair = measure_side_by_side({"http-api": http_query, "fts5": fts.query}, qs)
                alone = measure_latency(fts.query, qs)  # and alone, with its caches to itself
                server_mb = _peak_memory_mb(server.pid)
        finally:
            fts.close()
            server.terminate()
            server.wait(timeout=30)
    columns = {"http-api": pair["http-api"], "fts5 beside": pair["fts5"], "fts5 alone": alone}
    table = format_bench(report, columns, baselines=["fts5 beside", "fts5 alone"])
    return (
        f"{table}\nAPI server peak memory (VmHWM): {server_mb:.0f} MB\n"
        f"machine: {os.cpu_count()} cores; {load_before} at start, {_load()} at end"
    )


def run_bench_main(docs: int, queries: int, relevance_docs: int = 20_000) -> None:
    print(run_bench_cli(docs, queries, relevance_docs))
