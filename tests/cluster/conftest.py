"""Fixtures of the cluster tests: a real Dovecot, and one `make cluster` layout for them all.

Starting the layout (initdb, migrate, two API replicas, two outbox and two intake workers,
each a fresh Python process) is most of these tests' time, so the files share one: the
replica test first, then the fault tests. A test that kills processes brings them back at
its end, and `cluster` brings back any process a failed test left dead, so one failure does
not cascade into the next test ("died in the outage").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.services.dovecot import Dovecot, DovecotUnavailable, dovecot_server
from tools.cluster import Cluster, running_cluster


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    try:
        with dovecot_server() as server:
            yield server
    except DovecotUnavailable as exc:
        pytest.skip(f"no Dovecot: {exc}")


@pytest.fixture
def cluster(layout: Cluster) -> Iterator[Cluster]:
    """The shared layout, every process of it running at the start of the test."""
    layout.revive()
    yield layout


@pytest.fixture(scope="session")
def layout(dovecot: Dovecot) -> Iterator[Cluster]:
    user = f"c{uuid.uuid4().hex[:10]}"
    env = {
        **dovecot.env(user),
        "SEDNO_INTAKE_LEASE_S": "3",
        "SEDNO_OUTBOX_LEASE_S": "3",
        "SEDNO_SECRET_KEY": "cluster-test",
    }
    with running_cluster(replicas=2, outbox_workers=2, intake_workers=2, env=env) as running:
        yield running
