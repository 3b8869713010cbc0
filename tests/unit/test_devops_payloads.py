"""Azure DevOps adapter, pure parts: JSON Patch building, hook parsing, request shape."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import msgspec
import pytest

from tickets.handoff.azure_devops import (
    AzureDevOpsClient,
    DevOpsFinal,
    DevOpsRetryable,
    MalformedHookPayload,
    PatchOp,
    RevisionConflict,
    WorkItemSpec,
    build_create_patch,
    build_update_patch,
    join_tags,
    parse_retry_after,
    parse_workitem_updated,
    split_tags,
    text_to_html,
    ticket_tag,
    wiql_literal,
)

SPEC = WorkItemSpec(
    ticket_number="ZS/2026/17",
    ticket_url="https://sedno.example.com/tickets/17?a=1&b=2",
    title="Faktura <korekta> się nie drukuje",
    description='Klient "ACME" & syn\nlinia 2\n\nakapit <script>',
    area_path="Produkcja\\Kadry",
    priority="krytyczny",
    tags=("enova", "wydruki"),
    assigned_to="anna.nowak@firma.pl",
)


def _ops(spec: WorkItemSpec) -> dict[str, Any]:
    return {op.path: op.value for op in build_create_patch(spec) if op.path != "/relations/-"}


# ------------------------------------------------------------------ JSON Patch


def test_create_patch_sets_every_field_with_add_ops() -> None:
    ops = build_create_patch(SPEC)
    assert {op.op for op in ops} == {"add"}
    fields = _ops(SPEC)
    assert fields["/fields/System.Title"] == "Faktura <korekta> się nie drukuje"
    assert fields["/fields/System.AreaPath"] == "Produkcja\\Kadry"
    assert fields["/fields/Microsoft.VSTS.Common.Priority"] == 1
    assert fields["/fields/System.Tags"] == "sedno[ZS/2026/17]; enova; wydruki"
    assert fields["/fields/System.AssignedTo"] == "anna.nowak@firma.pl"


def test_create_patch_escapes_ticket_text_into_html() -> None:
    fields = _ops(SPEC)
    expected = "<p>Klient &quot;ACME&quot; &amp; syn<br>linia 2</p><p>akapit &lt;script&gt;</p>"
    assert fields["/fields/Microsoft.VSTS.TCM.ReproSteps"] == expected
    description = fields["/fields/System.Description"]
    assert description.startswith(expected)
    assert (
        '<a href="https://sedno.example.com/tickets/17?a=1&amp;b=2">ZS/2026/17</a>' in description
    )
    assert "<script>" not in description


def test_create_patch_links_the_ticket_page_last() -> None:
    last = build_create_patch(SPEC)[-1]
    assert last == PatchOp(
        "add",
        "/relations/-",
        {
            "rel": "Hyperlink",
            "url": "https://sedno.example.com/tickets/17?a=1&b=2",
            "attributes": {"comment": "Sedno ZS/2026/17"},
        },
    )


@pytest.mark.parametrize(
    ("priority", "expected"), [("krytyczny", 1), ("wysoki", 2), ("normalny", 3), ("niski", 4)]
)
def test_ticket_priority_maps_to_devops_1_to_4(priority: Any, expected: int) -> None:
    spec = WorkItemSpec(**{**_spec_kwargs(), "priority": priority})
    assert _ops(spec)["/fields/Microsoft.VSTS.Common.Priority"] == expected


def test_repro_steps_prefer_their_own_text_and_assignee_is_optional() -> None:
    spec = WorkItemSpec(
        **{**_spec_kwargs(), "repro_steps": "1. Otwórz\n2. Drukuj", "assigned_to": None}
    )
    fields = _ops(spec)
    assert fields["/fields/Microsoft.VSTS.TCM.ReproSteps"] == "<p>1. Otwórz<br>2. Drukuj</p>"
    assert "/fields/System.AssignedTo" not in fields


def test_patch_serialises_like_the_documented_body() -> None:
    ops = build_update_patch(7, [PatchOp("remove", "/fields/System.AssignedTo")])
    assert json.loads(msgspec.json.encode(ops)) == [
        {"op": "test", "path": "/rev", "value": 7},
        {"op": "remove", "path": "/fields/System.AssignedTo"},
    ]


def test_update_patch_starts_with_the_rev_test() -> None:
    ops = build_update_patch(4, [PatchOp("replace", "/fields/System.State", "Active")])
    assert ops[0] == PatchOp("test", "/rev", 4)
    assert ops[1:] == [PatchOp("replace", "/fields/System.State", "Active")]


def test_ticket_tag_of_one_number_is_not_part_of_another() -> None:
    assert ticket_tag("ZS/2026/1") not in ticket_tag("ZS/2026/17")
    assert ticket_tag("ZS/2026/17") not in ticket_tag("ZS/2026/170")
    assert ticket_tag("ZS/2026/7") not in ticket_tag("ZS/2026/17")


def test_tags_join_split_and_reject_separators() -> None:
    assert join_tags([" a ", "b", "A", ""]) == "a; b"
    assert split_tags("a; b ;;c") == ("a", "b", "c")
    assert split_tags(None) == ()
    with pytest.raises(ValueError, match="cannot contain"):
        join_tags(["a;b"])


def test_wiql_literal_doubles_quotes() -> None:
    assert wiql_literal("it's") == "'it''s'"


def test_text_to_html_keeps_lines_and_drops_empty_paragraphs() -> None:
    assert text_to_html("a\r\nb\n\n\n\nc") == "<p>a<br>b</p><p>c</p>"
    assert text_to_html("") == ""


# ------------------------------------------------------------------ Retry-After


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90.0
    )
    assert parse_retry_after("yesterday") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


# ------------------------------------------------------------------ service hook


MICROSOFT_SAMPLE: dict[str, Any] = {
    "subscriptionId": "00000000-0000-0000-0000-000000000000",
    "notificationId": 5,
    "id": "27646e0e-b520-4d2b-9411-bba7524947cd",
    "eventType": "workitem.updated",
    "publisherId": "tfs",
    "message": {"text": "Bug #5 (Some great new idea!) updated by Jamal Hartnett."},
    "resource": {
        "id": 2,
        "workItemId": 0,
        "rev": 2,
        "revisedBy": {
            "id": "e5a5f7f8-6507-4c34-b397-6c4818e002f4",
            "name": "Jamal Hartnett <fabrikamfiber4@hotmail.com>",
            "displayName": "Jamal Hartnett",
            "uniqueName": "fabrikamfiber4@hotmail.com",
        },
        "revisedDate": "2014-07-15T16:48:44.663Z",
        "fields": {
            "System.Rev": {"oldValue": 1, "newValue": 2},
            "System.State": {"oldValue": "New", "newValue": "Approved"},
            "System.Reason": {
                "oldValue": "New defect reported",
                "newValue": "Approved by the Product Owner",
            },
            "System.AssignedTo": {"newValue": "Jamal Hartnet"},
            "Microsoft.VSTS.Common.Severity": {"oldValue": "3 - Medium", "newValue": "2 - High"},
        },
        "url": "http://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/_apis/wit/workItems/5/updates/2",
        "revision": {
            "id": 5,
            "rev": 2,
            "fields": {
                "System.AreaPath": "FabrikamCloud",
                "System.TeamProject": "FabrikamCloud",
                "System.WorkItemType": "Bug",
                "System.State": "Approved",
                "System.ChangedBy": "Jamal Hartnett",
                "System.Title": "Some great new idea!",
                "System.Tags": "sedno[ZS/2026/17]; pilne",
            },
            "url": "http://fabrikam-fiber-inc.visualstudio.com/DefaultCollection/_apis/wit/workItems/5/revisions/2",
        },
    },
    "resourceVersion": "1.0",
    "resourceContainers": {
        "collection": {"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"},
        "account": {"id": "f844ec47-a9db-4511-8281-8b63f4eaf94e"},
        "project": {"id": "be9b3917-87e6-42a4-a549-2bc06a7a878f"},
    },
    "createdDate": "2014-10-27T16:22:37.000Z",
}


def test_the_test_buttons_sample_is_recognised_and_carries_nothing_to_apply() -> None:
    update = parse_workitem_updated(MICROSOFT_SAMPLE)
    assert update.test_sample, "workItemId 0: the subscription's Test button"
    assert update.work_item_id == 5
    assert (update.state, update.new_state, update.changed_fields) == (None, None, ())


def test_a_real_delivery_parses_every_field() -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    payload["resource"]["workItemId"] = 5
    update = parse_workitem_updated(payload)
    assert not update.test_sample and update.complete
    assert update.work_item_id == 5
    assert update.rev == 2
    assert (update.old_state, update.new_state, update.state) == ("New", "Approved", "Approved")
    assert update.changed_by == "fabrikamfiber4@hotmail.com"
    assert update.changed_fields == (
        "Microsoft.VSTS.Common.Severity",
        "System.AssignedTo",
        "System.Reason",
        "System.Rev",
        "System.State",
    )
    assert update.tags == ("sedno[ZS/2026/17]", "pilne")
    assert update.title == "Some great new idea!"
    assert update.event_id == "27646e0e-b520-4d2b-9411-bba7524947cd"


def test_the_state_comes_from_the_changed_field_not_from_the_revision() -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    payload["resource"]["workItemId"] = 5
    payload["resource"]["revision"]["fields"]["System.State"] = "New"  # as Microsoft's sample
    update = parse_workitem_updated(payload)
    assert update.state == "Approved"


def test_a_minimal_payload_names_the_item_and_asks_for_a_read() -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    resource = payload["resource"]
    payload["resource"] = {"id": 2, "workItemId": 5, "rev": 2, "url": resource["url"]}
    update = parse_workitem_updated(payload)
    assert (update.work_item_id, update.rev, update.state) == (5, 2, None)
    assert not update.complete and not update.test_sample


def test_update_without_a_state_change_keeps_the_current_state() -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    payload["resource"]["workItemId"] = 5
    del payload["resource"]["fields"]["System.State"]
    del payload["resource"]["revisedBy"]
    update = parse_workitem_updated(payload)
    assert (update.old_state, update.new_state, update.state) == (None, None, "Approved")
    assert update.changed_by == "Jamal Hartnett", "falls back to revision System.ChangedBy"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("eventType",), "eventType"),
        (("resource",), "resource"),
        (("resource", "rev"), "resource.rev"),
        (("resource", "revision", "fields"), "resource.revision.fields"),
    ],
)
def test_a_missing_field_is_named(path: tuple[str, ...], field: str) -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    with pytest.raises(MalformedHookPayload) as error:
        parse_workitem_updated(payload)
    assert error.value.field == field
    assert field in str(error.value)
    assert isinstance(error.value, ValueError)


def test_a_missing_work_item_id_is_named() -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    del payload["resource"]["workItemId"]
    del payload["resource"]["revision"]["id"]
    with pytest.raises(MalformedHookPayload, match=r"resource\.workItemId"):
        parse_workitem_updated(payload)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(eventType="workitem.created"), "not 'workitem.updated'"),
        (lambda p: p["resource"].update(rev="2"), "resource.rev is not an integer"),
        (lambda p: p["resource"].update(rev=True), "resource.rev is not an integer"),
        (lambda p: p["resource"].update(workItemId=-3), "not a positive integer"),
        (
            lambda p: p["resource"].update(fields=[1], workItemId=5),
            "resource.fields is not an object",
        ),
        (lambda p: p.update(resource="x"), "resource is not an object"),
    ],
)
def test_malformed_values_are_refused(mutate: Any, message: str) -> None:
    payload = copy.deepcopy(MICROSOFT_SAMPLE)
    mutate(payload)
    with pytest.raises(MalformedHookPayload, match=message):
        parse_workitem_updated(payload)


def test_a_non_object_payload_is_refused() -> None:
    with pytest.raises(MalformedHookPayload, match="payload"):
        parse_workitem_updated([MICROSOFT_SAMPLE])


# ------------------------------------------------------------------ request shape (no network)


def _work_item_json(item_id: int = 9, rev: int = 1) -> dict[str, Any]:
    return {
        "id": item_id,
        "rev": rev,
        "fields": {"System.Title": "t", "System.State": "New", "System.Tags": "sedno[ZS/2026/17]"},
        "relations": [{"rel": "Hyperlink", "url": "https://sedno/t/17", "attributes": {}}],
        "_links": {"html": {"href": f"https://dev.azure.com/acme/p/_workitems/edit/{item_id}"}},
    }


def _client(handler: Any) -> AzureDevOpsClient:
    return AzureDevOpsClient(
        "https://dev.azure.com/acme/",
        "Dział Kadr",
        "pat-123",
        transport=httpx.MockTransport(handler),
    )


def test_create_request_follows_the_documented_shape() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_work_item_json())

    with _client(handler) as client:
        item = client.create_work_item(SPEC)
    request = seen[0]
    assert request.method == "POST"
    assert (
        request.url.raw_path.split(b"?")[0] == b"/acme/Dzia%C5%82%20Kadr/_apis/wit/workitems/$Bug"
    )
    assert request.url.params["api-version"] == "7.1"
    assert request.headers["Content-Type"] == "application/json-patch+json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-TFS-FedAuthRedirect"] == "Suppress"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b":pat-123").decode()
    assert json.loads(request.content)[0] == {
        "op": "add",
        "path": "/fields/System.Title",
        "value": SPEC.title,
    }
    assert item.html_url == "https://dev.azure.com/acme/p/_workitems/edit/9"
    assert item.hyperlinks == ("https://sedno/t/17",)
    assert item.tags == ("sedno[ZS/2026/17]",)


def test_wiql_query_escapes_the_tag_and_scopes_to_the_project() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        assert request.headers["Content-Type"] == "application/json"
        return httpx.Response(
            200, json={"workItems": [{"id": 12, "url": "u"}, {"id": 3, "url": "u"}]}
        )

    with _client(handler) as client:
        assert client.find_by_tag("sedno[O'Brien]") == [3, 12]
    assert bodies[0]["query"] == (
        "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
        "AND [System.Tags] CONTAINS 'sedno[O''Brien]' ORDER BY [System.Id]"
    )


@pytest.mark.parametrize("status", [409, 412])
def test_a_failed_rev_test_is_a_revision_conflict(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={
                "message": "VS403351: Test Operation for path /rev failed",
                "typeKey": "TestPatchOperationFailedException",
            },
        )

    with _client(handler) as client, pytest.raises(RevisionConflict) as error:
        client.set_state(9, 3, "Active")
    assert (error.value.work_item_id, error.value.expected_rev, error.value.status) == (
        9,
        3,
        status,
    )
    assert "VS403351" in error.value.message


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, DevOpsFinal),
        (401, DevOpsFinal),
        (403, DevOpsFinal),
        (404, DevOpsFinal),
        (203, DevOpsFinal),
        (429, DevOpsRetryable),
        (500, DevOpsRetryable),
        (503, DevOpsRetryable),
    ],
)
def test_status_codes_split_into_final_and_retryable(status: int, kind: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, text="<html>nope</html>", headers={"Content-Type": "text/html"}
        )

    with _client(handler) as client, pytest.raises(kind):
        client.get_work_item(1)


def test_retry_after_on_a_success_blocks_the_next_call_locally() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=_work_item_json(), headers={"Retry-After": "60"})

    with _client(handler) as client:
        client.get_work_item(9)
        assert client.last_retry_after == 60.0
        assert 59 < client.delay_before_next_call() <= 60
        with pytest.raises(DevOpsRetryable) as error:
            client.get_work_item(9)
    assert len(calls) == 1
    assert error.value.retry_after is not None and error.value.retry_after > 59
    assert not error.value.maybe_applied


def test_a_read_timeout_on_create_may_have_applied_but_not_on_get() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with _client(handler) as client:
        with pytest.raises(DevOpsRetryable) as create_error:
            client.create_work_item(SPEC)
        with pytest.raises(DevOpsRetryable) as get_error:
            client.get_work_item(1)
    assert create_error.value.maybe_applied
    assert not get_error.value.maybe_applied


def _spec_kwargs() -> dict[str, Any]:
    return {
        "ticket_number": "ZS/2026/1",
        "ticket_url": "https://sedno/t/1",
        "title": "t",
        "description": "d",
        "area_path": "A",
    }
