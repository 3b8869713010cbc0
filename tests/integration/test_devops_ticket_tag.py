"""Issue 16 point 11: the per-ticket tag is optional (`SEDNO_DEVOPS_TICKET_TAG=0`), because
each one is a new tag definition that needs the "Create tag definition" permission."""

from __future__ import annotations

import pytest

from tests.integration.test_devops_contract import (  # the served stand-in
    STANDIN_PAT,
    ServedStandin,
    served,  # noqa: F401
    standin_fixture,  # noqa: F401
)
from tickets.core.settings import load_settings
from tickets.handoff.azure_devops import (
    AzureDevOpsClient,
    DevOpsRetryable,
    WorkItemSpec,
    ticket_tag,
    title_mark,
)


def _spec(number: str, *, tagged: bool) -> WorkItemSpec:
    return WorkItemSpec(
        ticket_number=number,
        ticket_url=f"https://sedno.example.com/tickets/{number.replace('/', '-')}",
        title=f"{title_mark(number)} Nie drukuje się faktura",
        description="Opis",
        area_path="Sedno",
        tags=("sedno",),
        tag_with_ticket=tagged,
    )


def test_without_the_ticket_tag_a_timed_out_create_is_found_by_its_title(
    served: ServedStandin,  # noqa: F811
) -> None:
    with AzureDevOpsClient(served.org_url, "Sedno", STANDIN_PAT) as client:
        other = client.create_or_adopt(_spec("ZS/2026/17", tagged=False))
        served.fault(mode="slow_apply", seconds=2, match="create")
        late = AzureDevOpsClient(served.org_url, "Sedno", STANDIN_PAT, timeout=0.5)
        with late, pytest.raises(DevOpsRetryable):
            late.create_work_item(_spec("ZS/2026/1", tagged=False))
        [made] = [i for i in served.items() if i["id"] != other.id]
        assert made["fields"]["System.Tags"] == "sedno", "no new tag definition per ticket"
        adopted = client.create_or_adopt(_spec("ZS/2026/1", tagged=False))
        assert adopted.id == made["id"], "[ZS/2026/1] is not [ZS/2026/17]"
        assert len(served.items()) == 2
        tagged = client.create_work_item(_spec("ZS/2026/2", tagged=True))
        assert ticket_tag("ZS/2026/2") in tagged.tags


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("0", False), ("yes", True)])
def test_the_ticket_tag_setting(value: str | None, expected: bool) -> None:
    env = {"SEDNO_DEVOPS_URL": "https://dev.azure.com/acme", "SEDNO_DEVOPS_PROJECT": "Sedno"}
    if value is not None:
        env["SEDNO_DEVOPS_TICKET_TAG"] = value
    devops = load_settings(env).devops
    assert devops is not None and devops.ticket_tag is expected
