"""The real client against the stand-in for each process template (Agile, Scrum, CMMI, Basic):
it must read the project as it is and send only what that process accepts; the stand-in must
refuse what Azure DevOps refuses."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.test_devops_contract import (
    STANDIN_PAT,
    ServedStandin,
    standin_fixture,  # noqa: F401 - the module's stand-in
)
from tickets.handoff.azure_devops import (
    AzureDevOpsClient,
    DevOpsFinal,
    WorkItemSpec,
    parse_workitem_updated,
)
from tickets.handoff.service import DEFAULT_MAPPING, outbound_state

PROCESSES = {
    # process: (handoff type, states of that type with categories)
    "Agile": ("Bug", [("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"),
                      ("Closed", "Completed")]),
    "Scrum": ("Bug", [("New", "Proposed"), ("Approved", "Proposed"), ("Committed", "InProgress"),
                      ("Done", "Completed"), ("Removed", "Removed")]),
    "CMMI": ("Bug", [("Proposed", "Proposed"), ("Active", "InProgress"),
                     ("Resolved", "Resolved"), ("Closed", "Completed")]),
    "Basic": ("Issue", [("To Do", "Proposed"), ("Doing", "InProgress"), ("Done", "Completed")]),
}  # fmt: skip


def _reset(standin: ServedStandin, process: str, **extra: object) -> AzureDevOpsClient:
    standin.admin.post("/_standin/reset", json={"process": process, **extra}).raise_for_status()
    return AzureDevOpsClient(standin.org_url, "Sedno", STANDIN_PAT, timeout=5)


def _spec(**overrides: object) -> WorkItemSpec:
    values: dict[str, object] = {
        "ticket_number": "ZS/2026/17",
        "ticket_url": "https://sedno.example.com/tickets/17",
        "title": "Nie drukuje się faktura",
        "description": "Opis",
        "area_path": "Sedno\\Handel",
    }
    values.update(overrides)
    return WorkItemSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_the_client_reads_process_type_states_and_areas(
    standin: ServedStandin, process: str
) -> None:
    with _reset(standin, process) as client:
        info = client.describe_project()
    handoff_type, states = PROCESSES[process]
    assert info.process == process
    assert info.work_item_type == handoff_type
    assert [(s.name, s.category) for s in info.handoff_type.states] == states
    assert "Sedno\\Handel" in info.areas and info.areas[0] == "Sedno"
    assert info.area_named("sedno\\handel") == "Sedno\\Handel"


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_a_handoff_round_trip_works_in_every_process(standin: ServedStandin, process: str) -> None:
    with _reset(standin, process) as client:
        info = client.describe_project()
        target = info.handoff_type
        item = client.create_work_item(_spec(work_item_type=target.name, type_fields=target.fields))
        assert item.work_item_type == target.name
        assert item.state == target.states[0].name
        by_ticket = {r.ticket_state: r for r in DEFAULT_MAPPING.outbound}
        completed = outbound_state(by_ticket["completed"], target)
        moved = client.set_state(item.id, item.rev, completed or "", comment="Zakończone")
        assert moved.state == completed
        reopened = outbound_state(by_ticket["reopened"], target)
        assert client.set_state(item.id, moved.rev, reopened or "").state == reopened
        # Cancelled maps to the Removed category, which Agile bugs, CMMI and Basic lack.
        removed = outbound_state(by_ticket["cancelled"], target)
        assert (removed is not None) == (process == "Scrum")


def test_basic_has_no_bug_type(standin: ServedStandin) -> None:
    with _reset(standin, "Basic") as client, pytest.raises(DevOpsFinal) as error:
        client.create_work_item(_spec(work_item_type="Bug"))
    assert error.value.status == 404
    assert "WorkItemTypeNotFoundException" in error.value.message
    # As the service words it (404 from the WIT exception map; seen in the field):
    assert (
        "VS402323: Work item type Bug does not exist in project Sedno or you do not have "
        "permission to access it." in error.value.message
    )


def test_an_area_path_that_does_not_exist_is_refused(standin: ServedStandin) -> None:
    with _reset(standin, "Agile") as client, pytest.raises(DevOpsFinal) as error:
        client.create_work_item(_spec(area_path="Sedno\\Nie Istnieje"))
    assert error.value.status == 400
    assert "WorkItemFieldInvalidTreeNameException" in error.value.message
    # A create names the draft work item -1, as the service does.
    assert (
        "TF401347: Invalid tree name given for work item -1, field 'System.AreaPath'."
        in error.value.message
    )
    assert standin.items() == []


@pytest.mark.parametrize(("process", "foreign"), [("Scrum", "Active"), ("CMMI", "Removed"),
                                                  ("Agile", "Done"), ("Basic", "Closed")])  # fmt: skip
def test_a_state_of_another_process_is_a_rule_error(
    standin: ServedStandin, process: str, foreign: str
) -> None:
    with _reset(standin, process) as client:
        info = client.describe_project()
        target = info.handoff_type
        item = client.create_work_item(_spec(work_item_type=target.name, type_fields=target.fields))
        with pytest.raises(DevOpsFinal) as error:
            client.set_state(item.id, item.rev, foreign, comment="lost with the state")
        assert error.value.status == 400
        assert "RuleValidationException" in error.value.message
        after = client.get_work_item(item.id)
        assert after.rev == item.rev, "a refused patch changes nothing, comment included"


def test_a_field_the_type_lacks_is_refused(standin: ServedStandin) -> None:
    with _reset(standin, "Basic") as client, pytest.raises(DevOpsFinal) as error:
        client.create_work_item(_spec(work_item_type="Issue"))  # sends repro steps
    assert error.value.status == 400
    assert "Microsoft.VSTS.TCM.ReproSteps" in error.value.message


def test_an_unknown_identity_is_refused_and_can_be_checked(standin: ServedStandin) -> None:
    with _reset(standin, "Agile", identities=["anna@firma.pl"]) as client:
        assert client.identity_exists("anna@firma.pl")
        assert not client.identity_exists("nikt@firma.pl")
        with pytest.raises(DevOpsFinal) as error:
            client.create_work_item(_spec(assigned_to="nikt@firma.pl"))
        assert error.value.status == 400
        item = client.create_work_item(_spec(assigned_to="anna@firma.pl"))
        assert item.assigned_to == "anna@firma.pl"


def test_batch_reads_200_ids_a_call_and_omits_missing_ones(standin: ServedStandin) -> None:
    with _reset(standin, "Agile") as client:
        ids = [client.create_work_item(_spec(ticket_number=f"ZS/2026/{n}")).id for n in range(3)]
        before = len(standin.calls())
        items = client.get_work_items([*ids, 999_999, *range(10_000, 10_250)])
        batches = [c for c in standin.calls()[before:] if c["kind"] == "batch"]
    assert sorted(i.id for i in items) == ids
    assert {i.state for i in items} == {"New"}
    assert len(batches) == 2, "254 ids: two calls of at most 200"


def test_batch_refuses_more_than_200_ids(standin: ServedStandin) -> None:
    _reset(standin, "Agile")
    answer = httpx.post(
        f"{standin.org_url}/Sedno/_apis/wit/workitemsbatch",
        params={"api-version": "7.1"},
        json={"ids": list(range(1, 202))},
        auth=("", STANDIN_PAT),
        headers={"X-TFS-FedAuthRedirect": "Suppress"},
    )
    assert answer.status_code == 400


@pytest.mark.parametrize("version", [None, "6.0", "8.0"])
def test_an_api_version_out_of_range_is_refused(
    standin: ServedStandin, version: str | None
) -> None:
    params = {"api-version": version} if version else {}
    answer = httpx.get(
        f"{standin.org_url}/Sedno/_apis/wit/workitemtypes",
        params=params,
        auth=("", STANDIN_PAT),
        headers={"X-TFS-FedAuthRedirect": "Suppress"},
    )
    assert answer.status_code == 400
    assert answer.json()["typeKey"] in (
        "VssVersionNotSpecifiedException",
        "VssVersionOutOfRangeException",
    )


def test_minimal_hooks_and_the_test_sample_as_the_service_sends_them(
    standin: ServedStandin,
) -> None:
    from tests.integration.test_devops_contract import HookReceiver

    receiver = HookReceiver("x")
    try:
        with _reset(standin, "Agile") as client:
            standin.admin.post(
                "/_standin/config",
                json={"hook_url": receiver.url, "hook_secret": "x", "resource_details": "minimal"},
            ).raise_for_status()
            item = client.create_work_item(_spec())
            standin.admin.post(
                f"/_standin/workitems/{item.id}/state", json={"state": "Resolved"}
            ).raise_for_status()
            standin.admin.post("/_standin/hooks/test").raise_for_status()
        minimal, sample = receiver.wait_for(2)
    finally:
        receiver.close()
    assert set(minimal["resource"]) == {"id", "workItemId", "rev", "url", "_links"}
    update = parse_workitem_updated(minimal)
    assert (update.work_item_id, update.rev, update.complete) == (item.id, 2, False)
    assert parse_workitem_updated(sample).test_sample
