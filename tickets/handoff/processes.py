"""The four inherited process templates of Azure Boards, as the stand-in serves them.

Types, their states with state categories (Proposed, InProgress, Resolved, Completed,
Removed) and the work item type categories, after Microsoft's process documentation
("Default processes and process templates", "Workflow states and state categories"). Only the
types a handoff can meet are modelled; transition rules between states are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

StateCategory = Literal["Proposed", "InProgress", "Resolved", "Completed", "Removed"]
ProcessName = Literal["Agile", "Scrum", "CMMI", "Basic"]

CORE_FIELDS: Final = frozenset(
    {
        "System.Title",
        "System.Description",
        "System.AreaPath",
        "System.IterationPath",
        "System.Tags",
        "System.AssignedTo",
        "System.State",
        "System.Reason",
        "System.History",
        "System.TeamProject",
        "System.WorkItemType",
    }
)
"""Fields every type of every process has."""

BUG_FIELDS: Final = frozenset(
    {
        "Microsoft.VSTS.TCM.ReproSteps",
        "Microsoft.VSTS.Common.Priority",
        "Microsoft.VSTS.Common.Severity",
    }
)
PRIORITY: Final = frozenset({"Microsoft.VSTS.Common.Priority"})


@dataclass(frozen=True)
class ProcessType:
    name: str
    reference_name: str
    states: tuple[tuple[str, StateCategory], ...]
    extra_fields: frozenset[str] = frozenset()

    @property
    def fields(self) -> frozenset[str]:
        return CORE_FIELDS | self.extra_fields


@dataclass(frozen=True)
class Process:
    name: ProcessName
    type_id: str
    """The process template's id, as `capabilities.processTemplate.templateTypeId`."""
    types: tuple[ProcessType, ...]
    categories: dict[str, tuple[str, ...]]
    """Category reference name → its types, the default first."""

    def type_named(self, name: str) -> ProcessType | None:
        return next((t for t in self.types if t.name.casefold() == name.casefold()), None)


def _t(
    name: str,
    ref: str,
    states: tuple[tuple[str, StateCategory], ...],
    extra: frozenset[str] = PRIORITY,
) -> ProcessType:
    return ProcessType(name, ref, states, extra)


_AGILE_FULL: Final[tuple[tuple[str, StateCategory], ...]] = (
    ("New", "Proposed"),
    ("Active", "InProgress"),
    ("Resolved", "Resolved"),
    ("Closed", "Completed"),
    ("Removed", "Removed"),
)
_SCRUM: Final[tuple[tuple[str, StateCategory], ...]] = (
    ("New", "Proposed"),
    ("Approved", "Proposed"),
    ("Committed", "InProgress"),
    ("Done", "Completed"),
    ("Removed", "Removed"),
)
_CMMI: Final[tuple[tuple[str, StateCategory], ...]] = (
    ("Proposed", "Proposed"),
    ("Active", "InProgress"),
    ("Resolved", "Resolved"),
    ("Closed", "Completed"),
)
_BASIC: Final[tuple[tuple[str, StateCategory], ...]] = (
    ("To Do", "Proposed"),
    ("Doing", "InProgress"),
    ("Done", "Completed"),
)

PROCESSES: Final[dict[str, Process]] = {
    "Agile": Process(
        "Agile",
        "adcc42ab-9882-485e-a3ed-7678f01f66bc",
        (
            # An Agile bug has no Removed state; its stories, features and epics do.
            _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", _AGILE_FULL[:4], BUG_FIELDS),
            _t("User Story", "Microsoft.VSTS.WorkItemTypes.UserStory", _AGILE_FULL),
            _t(
                "Task",
                "Microsoft.VSTS.WorkItemTypes.Task",
                (
                    ("New", "Proposed"),
                    ("Active", "InProgress"),
                    ("Closed", "Completed"),
                    ("Removed", "Removed"),
                ),
            ),
            _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", _AGILE_FULL),
            _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", _AGILE_FULL),
        ),
        {
            "Microsoft.BugCategory": ("Bug",),
            "Microsoft.RequirementCategory": ("User Story",),
            "Microsoft.TaskCategory": ("Task",),
            "Microsoft.FeatureCategory": ("Feature",),
            "Microsoft.EpicCategory": ("Epic",),
        },
    ),
    "Scrum": Process(
        "Scrum",
        "6b724908-ef14-45cf-84f8-768b5384da45",
        (
            _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", _SCRUM, BUG_FIELDS),
            _t("Product Backlog Item", "Microsoft.VSTS.WorkItemTypes.ProductBacklogItem", _SCRUM),
            _t(
                "Task",
                "Microsoft.VSTS.WorkItemTypes.Task",
                (
                    ("To Do", "Proposed"),
                    ("In Progress", "InProgress"),
                    ("Done", "Completed"),
                    ("Removed", "Removed"),
                ),
            ),
            _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", _SCRUM),
            _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", _SCRUM),
        ),
        {
            "Microsoft.BugCategory": ("Bug",),
            "Microsoft.RequirementCategory": ("Product Backlog Item",),
            "Microsoft.TaskCategory": ("Task",),
            "Microsoft.FeatureCategory": ("Feature",),
            "Microsoft.EpicCategory": ("Epic",),
        },
    ),
    "CMMI": Process(
        "CMMI",
        "27450541-8e31-4150-9947-dc59f998fc01",
        (
            _t("Bug", "Microsoft.VSTS.WorkItemTypes.Bug", _CMMI, BUG_FIELDS),
            _t("Requirement", "Microsoft.VSTS.WorkItemTypes.Requirement", _CMMI),
            _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", _CMMI),
            _t("Feature", "Microsoft.VSTS.WorkItemTypes.Feature", _CMMI),
            _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", _CMMI),
        ),
        {
            "Microsoft.BugCategory": ("Bug",),
            "Microsoft.RequirementCategory": ("Requirement",),
            "Microsoft.TaskCategory": ("Task",),
            "Microsoft.FeatureCategory": ("Feature",),
            "Microsoft.EpicCategory": ("Epic",),
        },
    ),
    "Basic": Process(
        "Basic",
        "b8a3a935-7e91-48b8-a94c-606d37c3e9f2",
        (
            # Basic has no Bug type and no Removed state.
            _t("Issue", "Microsoft.VSTS.WorkItemTypes.Issue", _BASIC),
            _t("Task", "Microsoft.VSTS.WorkItemTypes.Task", _BASIC),
            _t("Epic", "Microsoft.VSTS.WorkItemTypes.Epic", _BASIC),
        ),
        {
            "Microsoft.RequirementCategory": ("Issue",),
            "Microsoft.TaskCategory": ("Task",),
            "Microsoft.EpicCategory": ("Epic",),
        },
    ),
}
