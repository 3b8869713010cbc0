"""Handoffs against a misbehaving Azure DevOps: every one completes exactly once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.integration.test_handoff import Env, env, served_app, standin
from tickets.handoff import service as handoff
from tickets.handoff.azure_devops import ticket_tag

__all__ = ["env", "served_app", "standin"]

FAULTS: dict[str, dict[str, Any]] = {
    "429 with Retry-After": {"mode": "rate_limit", "retry_after": 0.3, "count": 2},
    "500": {"mode": "error", "status": 500, "count": 2, "match": "create"},
    "timeout, nothing applied": {"mode": "hang", "seconds": 1.0, "count": 2, "match": "create"},
    "timeout after applying": {"mode": "slow_apply", "seconds": 1.0, "count": 2, "match": "create"},
}


def _assert_each_handed_off_once(env: Env, ticket_ids: list[int]) -> None:
    items = env.items()
    numbers = {env.ticket(t).number: t for t in ticket_ids}
    tags = Counter(
        tag.strip()
        for item in items
        for tag in item["fields"]["System.Tags"].split(";")
        if tag.strip().startswith("sedno[")
    )
    assert tags == Counter({ticket_tag(n): 1 for n in numbers}), "one work item per ticket"
    linked = {env.ticket(t).devops_work_item_id for t in ticket_ids}
    assert linked == {item["id"] for item in items}
    assert env.jobs(handoff.CREATE_JOB, "dead") == []


@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_every_handoff_completes_exactly_once_despite_faults(
    env: Env, fault: dict[str, Any]
) -> None:
    ticket_ids = [env.new_ticket(f"Zgłoszenie {i}") for i in range(3)]
    env.standin.fault(**fault)
    for ticket_id in ticket_ids:
        env.hand_off(ticket_id)

    env.run_once()  # the first attempts meet the fault
    assert any(job.last_error for job in env.jobs(handoff.CREATE_JOB))
    env.drain()

    _assert_each_handed_off_once(env, ticket_ids)
    if fault["mode"] == "slow_apply":
        creates = [c for c in env.standin.calls() if c["kind"] == "create"]
        assert len(creates) == 3, "a create that timed out after applying is adopted, not redone"


def test_retry_after_is_passed_to_the_outbox(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.standin.fault(mode="rate_limit", retry_after=30, count=1)
    env.hand_off(ticket_id)

    env.worker.run_once()

    [job] = env.jobs(handoff.CREATE_JOB)
    assert job.status == "pending" and job.last_error and "TF400733" in job.last_error
    wait_s = (job.available_at - job.created_at).total_seconds()
    assert 25 < wait_s < 35
    assert env.items() == []


def test_handoffs_wait_while_devops_is_down_and_complete_when_it_is_back(env: Env) -> None:
    ticket_ids = [env.new_ticket(f"Awaria {i}") for i in range(3)]
    env.standin.fault(mode="down", count=None)
    for ticket_id in ticket_ids:
        env.hand_off(ticket_id)

    for _ in range(3):
        env.run_once()
    assert env.items() == []
    assert len(env.jobs(handoff.CREATE_JOB, "pending")) == 3
    assert {env.ticket(t).devops_work_item_id for t in ticket_ids} == {None}

    env.standin.admin.delete("/_standin/faults").raise_for_status()
    env.drain()

    _assert_each_handed_off_once(env, ticket_ids)


def test_export_survives_faults_without_duplicate_comments(env: Env) -> None:
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    env.standin.fault(mode="slow_apply", seconds=1.0, count=1, match="update")

    env.move(ticket_id, "completed")
    env.drain()

    [item] = env.items()
    assert item["fields"]["System.State"] == "Closed"
    assert len([c for c in item["comments"] if "zakończone w Sedno" in c]) == 1
    assert item["rev"] == 2
    # Reading back our own "Closed" is an echo: the ticket is not returned to the consultant.
    assert env.ticket(ticket_id).state == "completed"
    assert env.history(ticket_id, "devops_feedback") == []
