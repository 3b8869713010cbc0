"""Issue 16 point 11: a pending Retry-After of Azure DevOps holds every process.

Two clients with their own in-process gates stand for two processes (the outbox worker and
an API replica's admin route); only the database joins them. Real SQLite and PostgreSQL, the
Azure DevOps stand-in over HTTP."""

from __future__ import annotations

import pytest

from tests.integration.test_devops_contract import (  # the served stand-in
    STANDIN_PAT,
    ServedStandin,
    served,  # noqa: F401
    standin_fixture,  # noqa: F401
)
from tickets.core.db import Database
from tickets.handoff.azure_devops import AzureDevOpsClient, DevOpsRetryable, RetryGate, ticket_tag
from tickets.handoff.pause import StoredRetryGate


def _process_client(server: ServedStandin, db: Database) -> AzureDevOpsClient:
    """A client as another process has it: its own in-process gate, the shared database."""
    gate = StoredRetryGate(db, server.org_url, RetryGate())
    return AzureDevOpsClient(server.org_url, "Sedno", STANDIN_PAT, gate=gate)


def test_a_retry_after_seen_by_one_process_holds_another(
    served: ServedStandin,  # noqa: F811
    db: Database,
) -> None:
    served.fault(mode="rate_limit", retry_after=30)
    with _process_client(served, db) as worker, _process_client(served, db) as admin:
        with pytest.raises(DevOpsRetryable) as first:
            worker.find_by_tag(ticket_tag("ZS/2026/1"))
        assert first.value.retry_after == 30.0
        sent = len(served.calls())
        with pytest.raises(DevOpsRetryable) as held:
            admin.get_work_items([1, 2, 3])
        assert held.value.retry_after is not None and 25 < held.value.retry_after <= 30
        assert len(served.calls()) == sent, "the other process sent nothing"
        assert 25 < admin.delay_before_next_call() <= 30


def test_a_shorter_retry_after_never_shortens_a_longer_pause(
    served: ServedStandin,  # noqa: F811
    db: Database,
) -> None:
    gate = StoredRetryGate(db, served.org_url, RetryGate())
    gate.hold_off(60)
    gate.hold_off(5)
    other = StoredRetryGate(db, served.org_url.upper() + "/", RetryGate())
    with AzureDevOpsClient(served.org_url, "Sedno", STANDIN_PAT, gate=other) as client:
        assert 55 < client.delay_before_next_call() <= 60
