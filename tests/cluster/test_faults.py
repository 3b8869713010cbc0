"""Faults on the `make cluster` layout: workers SIGKILLed mid-work, PostgreSQL stopped 10 s."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest
from imap_tools import MailBoxUnencrypted

from tests.cluster.load import write_tickets
from tests.integration.conftest import make_mail
from tests.services.dovecot import Dovecot
from tools.cluster import REPO, Cluster

MAILS = 300
IMPORTED = 20_000


def _h(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.admin_token}"}


def _sql(cluster: Cluster, query: str) -> list[tuple[Any, ...]]:
    url = cluster.postgres.url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        return list(conn.execute(query).fetchall())


def _wait(what: str, check: Callable[[], bool], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, psycopg.Error):
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _complete_tickets(cluster: Cluster, n: int, tag: str) -> list[int]:
    h = _h(cluster)
    ids = []
    for i in range(n):
        url = cluster.urls[i % 2]
        r = httpx.post(
            f"{url}/api/tickets",
            json={"definition": "ZS", "title": f"{tag} {i}", "description": f"Opis {tag} {i}."},
            headers=h,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        for target in ("analysing", "in_progress"):
            httpx.post(f"{url}/api/tickets/{tid}/transition", json={"to": target}, headers=h)
        r = httpx.post(
            f"{url}/api/tickets/{tid}/transition",
            json={"to": "completed", "resolution": "resolved", "solution": f"Rozwiązanie {i}."},
            headers=h,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        ids.append(tid)
    return ids


def _indexed(cluster: Cluster, tag: str) -> list[int]:
    r = httpx.get(
        f"{cluster.urls[1]}/api/search",
        params={"q": tag, "limit": 100},
        headers=_h(cluster),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return [hit["ticket_id"] for hit in r.json()["hits"]]


def _count(cluster: Cluster, table: str) -> int:
    return int(_sql(cluster, f"SELECT count(*) FROM {table}")[0][0])


def _holder_pid(cluster: Cluster) -> int:
    rows = _sql(cluster, "SELECT holder FROM worker_leases WHERE name LIKE 'imap:%'")
    assert rows, "no intake worker holds the mailbox lease"
    return int(str(rows[0][0]).split(":")[1])


def _search_total(cluster: Cluster) -> int:
    r = httpx.get(
        f"{cluster.urls[0]}/api/search", params={"q": "", "limit": 1}, headers=_h(cluster)
    )
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


@pytest.mark.slow
@pytest.mark.postgres
def test_one_worker_of_each_kind_killed_mid_work_everything_done_once(
    cluster: Cluster, dovecot: Dovecot
) -> None:
    # Outbox work: an import of resolved tickets, indexed by the outbox workers in batches.
    jsonl = cluster.root / "faults.jsonl"
    write_tickets(jsonl, IMPORTED)
    importer = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "import", "tickets", str(jsonl)],
        cwd=REPO,
        env=cluster._env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Intake work: mail arriving in the shared mailbox; the reader is killed while it works.
    imap_user = cluster.extra_env["SEDNO_IMAP_USER"]
    intake_victim, calls_at_kill = "", MAILS
    with MailBoxUnencrypted(dovecot.host, dovecot.port).login(
        imap_user, dovecot.password, initial_folder=None
    ) as box:
        for i in range(MAILS):
            raw = make_mail(
                sender=f"klient{i}@firma{i % 13}.pl", subject=f"Awaria {i}", body=f"Treść {i}."
            )
            box.client.append("INBOX", None, None, raw)
            if i == MAILS // 4:
                _wait("the first calls", lambda: _count(cluster, "intake_calls") > 0)
                holder = _holder_pid(cluster)
                intake_victim = next(n for n, p in cluster.procs.items() if p.pid == holder)
                cluster.kill(intake_victim, signal.SIGKILL)
                calls_at_kill = _count(cluster, "intake_calls")
    outbox_pid = cluster.procs["outbox1"].pid
    claimed_by_victim = (
        "SELECT count(*) FROM outbox_jobs WHERE status = 'pending' "
        f"AND locked_by LIKE '%:{outbox_pid}:%'"
    )
    victim = cluster.procs["outbox1"]

    def frozen_holding_a_job() -> bool:
        # Checked with the worker stopped (SIGSTOP): it cannot finish the job between the
        # look and the kill, which a loaded machine otherwise lets it do now and then.
        victim.send_signal(signal.SIGSTOP)
        holding = False
        try:
            holding = _sql(cluster, claimed_by_victim)[0][0] > 0
        finally:
            if not holding:
                victim.send_signal(signal.SIGCONT)
        return holding

    _wait("outbox1 to hold a claimed job", frozen_holding_a_job, 60)
    held = _sql(cluster, claimed_by_victim)[0][0]
    cluster.kill("outbox1", signal.SIGKILL)
    assert held > 0, "outbox1 held no claimed job when killed"
    assert calls_at_kill < MAILS, "the intake kill came after all mail was read"

    def inbox_empty() -> bool:
        with MailBoxUnencrypted(dovecot.host, dovecot.port).login(
            imap_user, dovecot.password, initial_folder="INBOX"
        ) as box:
            return int(box.folder.status("INBOX", ["MESSAGES"])["MESSAGES"]) == 0

    assert importer.wait(timeout=300) == 0
    _wait("the surviving intake worker to empty INBOX", inbox_empty, 180)
    # The acknowledgements on arrival wait for an SMTP server this cluster does not have: they
    # stay pending (delayed, never dropped); every other job must be done.
    _wait(
        "the surviving outbox worker to finish every job",
        lambda: (
            _sql(
                cluster,
                "SELECT count(*) FROM outbox_jobs WHERE status <> 'done' AND kind <> 'mail.send'",
            )[0][0]
            == 0
        ),
        300,
    )
    waiting_mail = _sql(
        cluster, "SELECT count(*) FROM outbox_jobs WHERE kind = 'mail.send' AND status = 'pending'"
    )[0][0]
    assert (
        waiting_mail
        == _sql(cluster, "SELECT count(*) FROM outbox_jobs WHERE kind = 'mail.send'")[0][0]
    )
    print(
        f"\nfaults: outbox1 killed holding {held} claimed job(s); {intake_victim} killed at "
        f"{calls_at_kill}/{MAILS} calls"
    )
    subjects = [r[0] for r in _sql(cluster, "SELECT subject FROM intake_calls")]
    assert sorted(subjects) == sorted(f"Awaria {i}" for i in range(MAILS))
    assert _sql(cluster, "SELECT count(*) FROM intake_receipts")[0][0] == MAILS
    completed = _sql(cluster, "SELECT count(*) FROM tickets WHERE state = 'completed'")[0][0]
    assert completed >= IMPORTED
    # Every resolved ticket in the index, once. An API replica's reader sees another process's
    # commit within about a second (tantivy watches the index's meta file), so the last batch
    # may only just have become visible.
    _wait("the API to see every indexed ticket", lambda: _search_total(cluster) >= completed, 30)
    assert _search_total(cluster) == completed
    assert _sql(cluster, "SELECT count(*) FROM outbox_jobs WHERE status = 'dead'")[0][0] == 0
    redone = _sql(cluster, "SELECT count(*) FROM outbox_jobs WHERE attempts > 1")[0][0]
    assert redone >= 1, "no job was taken over from the killed outbox worker"
    # Bring the killed workers back for the next test.
    cluster.restart(intake_victim)
    cluster.restart("outbox1")


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_down_10s_ready_is_503_then_recovers_by_itself(cluster: Cluster) -> None:
    tag = "Brak połączenia z bazą podczas księgowania"
    before = _complete_tickets(cluster, 5, tag)
    procs_before = {n: p.pid for n, p in cluster.procs.items()}
    cluster.postgres.stop(mode="fast")
    stopped_at = time.monotonic()
    try:
        for url in cluster.urls:
            r = httpx.get(f"{url}/ready", timeout=30)
            assert r.status_code == 503, r.text
            assert "database" in r.json()["checks"]
            assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        r = httpx.post(
            f"{cluster.urls[0]}/api/tickets",
            json={"definition": "ZS", "title": "w trakcie awarii", "description": "x"},
            headers=_h(cluster),
            timeout=30,
        )
        assert r.status_code >= 500, "a write during the outage claimed success"
        time.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))
    finally:
        cluster.postgres.start()
    for url in cluster.urls:

        def is_ready(url: str = url) -> bool:
            return httpx.get(f"{url}/ready", timeout=10).status_code == 200

        _wait(f"{url}/ready to answer 200", is_ready, 60)
    assert {n: p.pid for n, p in cluster.procs.items()} == procs_before, "a process was restarted"
    dead = [n for n, p in cluster.procs.items() if p.poll() is not None]
    assert not dead, f"died in the outage: {dead}: " + "".join(
        (cluster.logs / f"{n}.log").read_text(errors="replace")[-1500:] for n in dead
    )
    after = _complete_tickets(cluster, 5, tag)
    _wait(
        "tickets from before and after the outage in search",
        lambda: set(_indexed(cluster, tag)) >= {*before, *after},
    )
    assert _sql(cluster, "SELECT count(*) FROM outbox_jobs WHERE status = 'dead'")[0][0] == 0
    for tid in before:
        r = httpx.get(f"{cluster.urls[1]}/api/tickets/{tid}", headers=_h(cluster), timeout=30)
        assert r.json()["state"] == "completed"
