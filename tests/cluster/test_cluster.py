"""`make cluster` end to end: PostgreSQL, two API replicas and the workers, as processes."""

from __future__ import annotations

import time

import httpx
import pytest

from tools.cluster import Cluster


def _h(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.admin_token}"}


@pytest.mark.slow
@pytest.mark.postgres
def test_ticket_written_on_one_replica_is_read_and_found_on_the_other(cluster: Cluster) -> None:
    one, two = cluster.urls
    h = _h(cluster)
    r = httpx.post(
        f"{one}/api/tickets",
        json={
            "definition": "ZS",
            "title": "Klaster: wydruk deklaracji PIT-11 zawiesza program",
            "description": "Po aktualizacji wydruk PIT-11 zawiesza enova365.",
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert httpx.get(f"{two}/api/tickets/{tid}", headers=h).json()["title"].startswith("Klaster")
    for target in ("analysing", "in_progress"):
        r = httpx.post(f"{two}/api/tickets/{tid}/transition", json={"to": target}, headers=h)
        assert r.status_code == 200, r.text
    r = httpx.post(
        f"{one}/api/tickets/{tid}/transition",
        json={"to": "completed", "resolution": "resolved", "solution": "Nowy sterownik drukarki."},
        headers=h,
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 60
    found: list[int] = []
    while time.monotonic() < deadline and tid not in found:
        for url in (two, one):
            hits = httpx.get(f"{url}/api/search", params={"q": "deklaracji PIT-11"}, headers=h)
            assert hits.status_code == 200, hits.text
            found = [hit["ticket_id"] for hit in hits.json()["hits"]]
            if tid not in found:
                break
        else:
            break
        time.sleep(0.3)
    assert tid in found, "the completed ticket never reached search on both replicas"
    ready = httpx.get(f"{one}/ready")
    assert ready.status_code == 200, ready.text
    assert all(p.poll() is None for p in cluster.procs.values())
