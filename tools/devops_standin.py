"""A local stand-in for Azure DevOps work items (REST 7.1), for tests, demos and offline work.

Serves the routes the adapter uses, under any organisation segment, e.g. the organisation URL
``http://127.0.0.1:8765/standin``:

* ``POST /{org}/{project}/_apis/wit/workitems/${type}?api-version=7.1`` - create (200)
* ``PATCH /{org}/{project}/_apis/wit/workitems/{id}?api-version=7.1`` - update; a failed
  ``test`` answers 412 ``TestPatchOperationFailedException`` as Azure DevOps does
* ``GET /{org}/{project}/_apis/wit/workitems/{id}?api-version=7.1[&$expand=all]``
* ``POST /{org}/{project}/_apis/wit/wiql?api-version=7.1`` - a WIQL subset: ``AND`` of
  ``[System.TeamProject] = @project``, ``[System.Tags] [NOT] CONTAINS '…'``,
  ``[System.State] = '…'``, ``[System.Id] = n``; ``ORDER BY`` is accepted. Tag ``CONTAINS``
  matches any *part* of a tag (case-insensitive): deliberately stricter than the service, so a
  tag form that is unambiguous here is unambiguous there.

Basic auth with the PAT as password (401 when wrong, or the service's 203 sign-in page when
``X-TFS-FedAuthRedirect: Suppress`` is absent); create/update need
``application/json-patch+json`` (415 otherwise). Test and admin routes, JSON, under
``/_standin/``: ``faults`` (POST adds, DELETE clears), ``config``, ``reset``, ``workitems``
(GET), ``workitems/{id}/state`` (POST: production moves the item and a ``workitem.updated``
hook fires), ``hooks`` and ``calls`` (GET logs).
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx
import msgspec
from litestar import Litestar, Request, Response, delete, get, patch, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath

from tickets.handoff.processes import PROCESSES, Process, ProcessType

FaultMode = Literal["rate_limit", "error", "hang", "down", "slow_apply", "retry_after_ok"]
CallKind = Literal["create", "update", "get", "wiql", "batch", "meta"]
ResourceDetails = Literal["all", "minimal"]

_SERVICE_IDENTITY: Final = {
    "displayName": "Sedno Integration",
    "uniqueName": "sedno@standin.local",
    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sedno@standin.local")),
}
DEFAULT_AREAS: Final = (
    "Ewidencja Środków Pieniężnych", "Handel", "Kadry", "Kadry Płace", "Kadry i Płace",
    "Księgowość", "Magazyn", "Pulpit Pracownika", "Triva", "Workflow",
)  # fmt: skip
"""Area nodes under the project root (the demo's modules and the tests')."""
DEFAULT_IDENTITIES: Final = (
    "sedno@standin.local",
    "anna.nowak@example.com",
    "piotr@firma.pl",
    "produkcja@sedno.localhost",
    "produkcja@standin.local",
)
"""Users of the organisation; `System.AssignedTo` must name one of them."""
TEST_SAMPLE_WORK_ITEM: Final = 5
"""The work item of Microsoft's `workitem.updated` sample, which the *Test* button sends."""


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    """One injected misbehaviour, used by the next ``count`` matching API calls."""

    mode: FaultMode
    count: int | None = 1
    """How many calls it affects; ``None`` = until ``DELETE /_standin/faults``."""
    match: CallKind | Literal["any"] = "any"
    retry_after: float = 1.0
    status: int = 500
    seconds: float = 5.0
    """For ``hang`` (then 503, nothing applied) and ``slow_apply`` (applied, then the wait)."""


class FaultRequest(msgspec.Struct, frozen=True):
    faults: list[Fault]


class StandinConfig(msgspec.Struct, frozen=True, omit_defaults=True):
    hook_url: str | None = None
    hook_secret: str | None = None
    hook_auth: Literal["basic", "header"] | None = None
    resource_details: ResourceDetails | None = None
    """The subscription's "Resource details to send"."""
    process: Literal["Agile", "Scrum", "CMMI", "Basic"] | None = None
    """The project's process template (work items already there keep their type)."""


class ResetRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A fresh organisation: its project's process, area nodes and users."""

    process: Literal["Agile", "Scrum", "CMMI", "Basic"] = "Agile"
    areas: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_AREAS))
    identities: list[str] = msgspec.field(default_factory=lambda: list(DEFAULT_IDENTITIES))


class StateChange(msgspec.Struct, frozen=True, kw_only=True):
    state: str
    changed_by: str | None = None
    reason: str | None = None
    duplicate: int = 1
    """Deliver the same hook this many times (Azure DevOps delivers at least once)."""
    out_of_order: bool = False
    """After the new revision's hook, deliver the previous revision's hook again."""


class _WiqlBody(msgspec.Struct):
    query: str


BATCH_LIMIT: Final = 200
"""Work items one ``workitemsbatch`` call may name."""


class _BatchBody(msgspec.Struct, forbid_unknown_fields=True):
    ids: list[int]
    fields: list[str] | None = None
    expand: str | None = msgspec.field(default=None, name="$expand")
    error_policy: Literal["fail", "omit"] | None = msgspec.field(default=None, name="errorPolicy")
    as_of: str | None = msgspec.field(default=None, name="asOf")


@dataclass
class _Item:
    id: int
    fields: dict[str, Any]
    relations: list[dict[str, Any]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    """``fields`` after each revision; index ``rev - 1``."""
    revisers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rev(self) -> int:
        return int(self.fields["System.Rev"])


@dataclass
class _State:
    project: str
    pat: str
    hook_url: str | None
    hook_secret: str | None
    hook_auth: Literal["basic", "header"] = "basic"
    resource_details: ResourceDetails = "all"
    process: Process = PROCESSES["Agile"]
    areas: list[str] = field(default_factory=lambda: list(DEFAULT_AREAS))
    identities: list[str] = field(default_factory=lambda: list(DEFAULT_IDENTITIES))
    project_id: str = ""
    base_url: str = "http://localhost"
    org: str = "standin"
    items: dict[int, _Item] = field(default_factory=dict)
    next_id: int = 1
    faults: list[Fault] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    hooks_era: int = 0
    """Counted up by a reset: a hook still in flight then is not logged into the new era's
    `hooks` (its answer used to land there after the reset, seen in a test run under load)."""
    calls: list[dict[str, Any]] = field(default_factory=list)
    notification_id: int = 0

    def take_fault(self, kind: CallKind) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if fault.match in ("any", kind):
                if fault.count is not None:
                    if fault.count <= 1:
                        del self.faults[i]
                    else:
                        self.faults[i] = msgspec.structs.replace(fault, count=fault.count - 1)
                return fault
        return None


class _ApiError(Exception):
    def __init__(self, status: int, type_key: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type_key = type_key
        self.message = message


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )


def _error(status: int, type_key: str, message: str) -> Response[bytes]:
    body = {
        "$id": "1",
        "innerException": None,
        "message": message,
        "typeName": f"Microsoft.TeamFoundation.WorkItemTracking.Server.{type_key}",
        "typeKey": type_key,
        "errorCode": 0,
        "eventId": 3200,
    }
    return _json(status, body)


def _identity(name: str) -> dict[str, Any]:
    display, _, unique = name.partition("<")
    unique = unique.rstrip(">").strip() or display.strip()
    return {
        "displayName": display.strip() or unique,
        "uniqueName": unique,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, unique)),
    }


def _identity_text(value: object) -> object:
    if isinstance(value, dict):
        return f"{value.get('displayName')} <{value.get('uniqueName')}>"
    return value


def _merge_tags(old: object, new: object) -> str:
    tags: list[str] = [t.strip() for t in str(old or "").split(";") if t.strip()]
    for tag in (t.strip() for t in str(new or "").split(";")):
        if tag and tag.casefold() not in (t.casefold() for t in tags):
            tags.append(tag)
    return "; ".join(tags)


def _field_name(path: str) -> str | None:
    return path[len("/fields/") :] if path.startswith("/fields/") else None


class _Engine:
    """The in-memory work item store and its Azure DevOps rules."""

    def __init__(self, state: _State) -> None:
        self.s = state

    # -- rendering

    def urls(self, item_id: int) -> tuple[str, str]:
        api = f"{self.s.base_url}/{self.s.org}/{self.s.project_id}/_apis/wit/workItems/{item_id}"
        html = f"{self.s.base_url}/{self.s.org}/{self.s.project_id}/_workitems/edit/{item_id}"
        return api, html

    def render(self, item: _Item, *, relations: bool = True) -> dict[str, Any]:
        api, html = self.urls(item.id)
        body: dict[str, Any] = {"id": item.id, "rev": item.rev, "fields": dict(item.fields)}
        if relations and item.relations:
            body["relations"] = [dict(r) for r in item.relations]
        body["_links"] = {
            "self": {"href": api},
            "workItemUpdates": {"href": f"{api}/updates"},
            "workItemRevisions": {"href": f"{api}/revisions"},
            "workItemComments": {"href": f"{api}/comments"},
            "html": {"href": html},
            "workItemType": {"href": f"{self.s.base_url}/{self.s.org}/_apis/wit/workItemTypes"},
            "fields": {"href": f"{self.s.base_url}/{self.s.org}/_apis/wit/fields"},
        }
        body["url"] = api
        return body

    # -- rules

    def area_paths(self) -> list[str]:
        """Every area path of the project, the root first (``Project\\A\\B``)."""
        paths = [self.s.project]
        for rel in self.s.areas:
            parts = [p for p in rel.split("\\") if p]
            for depth in range(1, len(parts) + 1):
                path = "\\".join([self.s.project, *parts[:depth]])
                if path not in paths:
                    paths.append(path)
        return paths

    def known_identity(self, value: object) -> dict[str, Any] | None:
        name = value.get("uniqueName") if isinstance(value, dict) else value
        if not isinstance(name, str):
            return None
        wanted = _identity(name)["uniqueName"].casefold()
        for unique in self.s.identities:
            if unique.casefold() == wanted:
                return _identity(unique)
        return None

    def check_fields(self, item_type: ProcessType, fields: dict[str, Any], item_id: int) -> None:
        for name in fields:
            if name.startswith("System.") or name in item_type.fields:
                continue
            # The service knows the field in the organisation, but not on this type.
            raise _ApiError(
                400,
                "WorkItemFieldInvalidException",
                f"TF51535: Cannot find field {name} on work item type {item_type.name}.",
            )
        title = fields.get("System.Title")
        if not isinstance(title, str) or not title.strip():
            raise _ApiError(
                400, "RuleValidationException", "TF401320: Rule Error for field Title. Required."
            )
        area = fields.get("System.AreaPath")
        known = {a.casefold(): a for a in self.area_paths()}
        if not isinstance(area, str) or area.casefold() not in known:
            raise _ApiError(
                400,
                "WorkItemFieldInvalidTreeNameException",
                f"TF401347: Invalid tree name given for work item {item_id}, field "
                f"'System.AreaPath'.",
            )
        fields["System.AreaPath"] = known[area.casefold()]
        state = fields.get("System.State")
        names = {n.casefold(): n for n, _ in item_type.states}
        if not isinstance(state, str) or state.casefold() not in names:
            raise _ApiError(
                400,
                "RuleValidationException",
                "TF401320: Rule Error for field State. Error code: Required, HasValues, "
                "LimitedToValues, AllowsOldValue, InvalidEmpty.",
            )
        fields["System.State"] = names[state.casefold()]
        if "System.AssignedTo" in fields and fields["System.AssignedTo"] not in (None, ""):
            who = self.known_identity(fields["System.AssignedTo"])
            if who is None:
                raise _ApiError(
                    400,
                    "WorkItemFieldInvalidException",
                    f"TF401320: Rule Error for field Assigned To. Error code: HasValues, "
                    f"LimitedToValues. The identity value {fields['System.AssignedTo']!r} is "
                    "an unknown identity.",
                )
            fields["System.AssignedTo"] = who
        priority = fields.get("Microsoft.VSTS.Common.Priority")
        if priority is not None and (
            isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 4
        ):
            raise _ApiError(
                400,
                "RuleValidationException",
                "TF401320: Rule Error for field Priority. Error code: LimitedToValues.",
            )

    def item_type(self, item: _Item) -> ProcessType:
        found = self.s.process.type_named(str(item.fields.get("System.WorkItemType", "")))
        assert found is not None, "items are only created with a type of the process"
        return found

    def apply_ops(
        self, item: _Item, ops: list[dict[str, Any]], *, creating: bool
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
        fields = dict(item.fields)
        relations = [dict(r) for r in item.relations]
        comments: list[str] = []
        for index, op in enumerate(ops):
            kind, path, value = op.get("op"), op.get("path"), op.get("value")
            if not isinstance(kind, str) or not isinstance(path, str):
                raise _ApiError(400, "PatchOperationFailedException", f"bad operation {index}")
            name = _field_name(path)
            if kind == "test":
                current = item.rev if path == "/rev" else fields.get(name or "")
                if current != value:
                    raise _ApiError(
                        412,
                        "TestPatchOperationFailedException",
                        f"VS403351: Test Operation for path {path} failed, value {current} "
                        f"was not equal to test value {value}.",
                    )
            elif path == "/relations/-" and kind == "add":
                if not isinstance(value, dict) or not value.get("rel") or not value.get("url"):
                    raise _ApiError(400, "PatchOperationFailedException", "relation needs rel, url")
                relations.append(value)
            elif name == "System.History" and kind in ("add", "replace"):
                comments.append(str(value))
            elif name and kind in ("add", "replace"):
                if name == "System.Tags" and kind == "add" and not creating:
                    value = _merge_tags(fields.get(name), value)
                elif name == "System.Tags":
                    value = _merge_tags("", value)
                fields[name] = value
            elif name and kind == "remove":
                fields.pop(name, None)
            else:
                raise _ApiError(
                    400, "PatchOperationFailedException", f"unsupported operation {kind} {path}"
                )
        return fields, relations, comments

    def create(self, work_item_type: str, ops: list[dict[str, Any]]) -> _Item:
        item_type = self.s.process.type_named(work_item_type)
        if item_type is None:
            raise _ApiError(
                404,
                "WorkItemTypeNotFoundException",
                f"VS402323: Work item type {work_item_type} does not exist in project "
                f"{self.s.project} or you do not have permission to access it.",
            )
        draft = _Item(id=-1, fields={"System.Rev": 0})
        fields, relations, comments = self.apply_ops(draft, ops, creating=True)
        fields.setdefault("System.AreaPath", self.s.project)
        fields.setdefault("System.State", item_type.states[0][0])
        self.check_fields(item_type, fields, -1)
        now = _now()
        item_id = self.s.next_id
        self.s.next_id += 1
        fields.update(
            {
                "System.Id": item_id,
                "System.Rev": 1,
                "System.TeamProject": self.s.project,
                "System.IterationPath": self.s.project,
                "System.WorkItemType": item_type.name,
                "System.Reason": "New",
                "System.CreatedDate": now,
                "System.CreatedBy": dict(_SERVICE_IDENTITY),
                "System.ChangedDate": now,
                "System.ChangedBy": dict(_SERVICE_IDENTITY),
                "System.CommentCount": len(comments),
            }
        )
        item = _Item(id=item_id, fields=fields, relations=relations, comments=comments)
        item.snapshots.append(dict(fields))
        item.revisers.append(dict(_SERVICE_IDENTITY))
        self.s.items[item_id] = item
        return item

    def update(
        self, item: _Item, ops: list[dict[str, Any]], by: dict[str, Any] | None = None
    ) -> bool:
        fields, relations, comments = self.apply_ops(item, ops, creating=False)
        if all(op.get("op") == "test" for op in ops):
            return False
        self.check_fields(self.item_type(item), fields, item.id)
        who = by or dict(_SERVICE_IDENTITY)
        state_moved = fields.get("System.State") != item.fields.get("System.State")
        if state_moved and fields.get("System.Reason") == item.fields.get("System.Reason"):
            fields["System.Reason"] = f"Moved to {fields.get('System.State')}"
        fields.update(
            {
                "System.Rev": item.rev + 1,
                "System.ChangedDate": _now(),
                "System.ChangedBy": who,
                "System.CommentCount": len(item.comments) + len(comments),
            }
        )
        item.fields, item.relations = fields, relations
        item.comments.extend(comments)
        # Like the service, a revision's comment shows as System.History in its hook only.
        item.snapshots.append(
            {**fields, "System.History": comments[-1]} if comments else dict(fields)
        )
        item.revisers.append(who)
        return True

    # -- WIQL

    def wiql(self, query: str) -> list[int]:
        literals: list[str] = []

        def hide(match: re.Match[str]) -> str:
            literals.append(match.group(1).replace("''", "'"))
            return f"\x00{len(literals) - 1}\x00"

        text = re.sub(r"'((?:[^']|'')*)'", hide, query.strip())
        head = re.match(
            r"(?is)^SELECT\s+.+?\s+FROM\s+WorkItems\s+WHERE\s+(.+?)(?:\s+ORDER\s+BY\s+.+)?$", text
        )
        if not head:
            raise _ApiError(400, "WiqlSyntaxException", "VS402336: stand-in WIQL: cannot parse")
        ids = sorted(self.s.items)
        for clause in re.split(r"(?i)\s+AND\s+", head.group(1).strip()):
            ids = [i for i in ids if self._matches(self.s.items[i], clause.strip(), literals)]
        return ids

    def _matches(self, item: _Item, clause: str, literals: list[str]) -> bool:
        def lit(token: str) -> str:
            return literals[int(token.strip("\x00"))]

        m = re.fullmatch(r"(?i)\[System\.TeamProject\]\s*=\s*(@project|\x00\d+\x00)", clause)
        if m:
            wanted = self.s.project if m.group(1).lower() == "@project" else lit(m.group(1))
            return str(item.fields.get("System.TeamProject", "")).casefold() == wanted.casefold()
        m = re.fullmatch(r"(?i)\[System\.Tags\]\s+(NOT\s+)?CONTAINS\s+(\x00\d+\x00)", clause)
        if m:
            needle = lit(m.group(2)).strip().casefold()
            tags = [
                t.strip().casefold() for t in str(item.fields.get("System.Tags", "")).split(";")
            ]
            found = bool(needle) and any(needle in t for t in tags)
            return found != bool(m.group(1))
        m = re.fullmatch(r"(?i)\[System\.Title\]\s+CONTAINS\s+(\x00\d+\x00)", clause)
        if m:  # Azure DevOps matches words of the title; a substring is a superset of that
            return lit(m.group(1)).casefold() in str(item.fields.get("System.Title", "")).casefold()
        m = re.fullmatch(r"(?i)\[System\.State\]\s*(=|<>)\s*(\x00\d+\x00)", clause)
        if m:
            same = str(item.fields.get("System.State", "")).casefold() == lit(m.group(2)).casefold()
            return same if m.group(1) == "=" else not same
        m = re.fullmatch(r"(?i)\[System\.Id\]\s*=\s*(\d+)", clause)
        if m:
            return item.id == int(m.group(1))
        raise _ApiError(400, "WiqlSyntaxException", f"VS402337: stand-in WIQL: {clause!r}")

    # -- service hooks

    def hook_payload(self, item: _Item, rev: int) -> dict[str, Any]:
        """A ``workitem.updated`` event shaped like Microsoft's documented sample.

        With "Resource details to send: Minimal" the resource keeps only its ids, revision and
        links: no changed fields, no ``revision`` - the receiver has to read the item.
        """
        after = item.snapshots[rev - 1]
        before = dict(item.snapshots[rev - 2]) if rev > 1 else {}
        before.pop("System.History", None)
        changes: dict[str, Any] = {}
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                change: dict[str, Any] = {}
                if name in before:
                    change["oldValue"] = _identity_text(before[name])
                if name in after:
                    change["newValue"] = _identity_text(after[name])
                changes[name] = change
        revised_by = item.revisers[rev - 1]
        title = after.get("System.Title")
        text = f"{after.get('System.WorkItemType')} #{item.id} ({title}) updated by {revised_by['displayName']}."
        self.s.notification_id += 1
        return {
            "subscriptionId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.s.project_id}/hook")),
            "notificationId": self.s.notification_id,
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.s.project_id}/{item.id}/{rev}")),
            "eventType": "workitem.updated",
            "publisherId": "tfs",
            "message": {"text": text, "html": text, "markdown": text},
            "detailedMessage": {"text": text, "html": text, "markdown": text},
            "resource": self._resource(item, rev, changes, revised_by),
            "resourceVersion": "1.0",
            "resourceContainers": {
                "collection": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "collection"))},
                "account": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.s.org))},
                "project": {"id": self.s.project_id},
            },
            "createdDate": _now(),
        }

    def _resource(
        self, item: _Item, rev: int, changes: dict[str, Any], revised_by: dict[str, Any]
    ) -> dict[str, Any]:
        api, html = self.urls(item.id)
        after = item.snapshots[rev - 1]
        resource: dict[str, Any] = {
            "id": rev,
            "workItemId": item.id,
            "rev": rev,
            "revisedBy": {**revised_by, "name": _identity_text(revised_by)},
            "revisedDate": after.get("System.ChangedDate"),
            "fields": changes,
            "_links": {
                "self": {"href": f"{api}/updates/{rev}"},
                "parent": {"href": api},
                "workItemUpdates": {"href": f"{api}/updates"},
            },
            "url": f"{api}/updates/{rev}",
            "revision": {
                "id": item.id,
                "rev": rev,
                "fields": {k: _identity_text(v) for k, v in after.items()},
                "url": f"{api}/revisions/{rev}",
                "_links": {"html": {"href": html}},
            },
        }
        if self.s.resource_details == "minimal":
            return {k: resource[k] for k in ("id", "workItemId", "rev", "url", "_links")}
        return resource

    def test_sample(self) -> dict[str, Any]:
        """What the subscription's *Test* button posts: Microsoft's fixed sample event.

        Its resource has ``workItemId`` 0 and describes work item 5 of the Fabrikam sample in
        ``revision``; the changed fields say ``New`` → ``Approved`` while ``revision.fields``
        still says ``New`` (the documented sample disagrees with itself).
        """
        base = "https://dev.azure.com/fabrikam/DefaultCollection/_apis/wit/workItems/5"
        text = "Bug #5 (Some great new idea!) updated by Jamal Hartnett."
        return {
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "notificationId": 1,
            "id": "27646e0e-b520-4d2b-9411-bba7524947cd",
            "eventType": "workitem.updated",
            "publisherId": "tfs",
            "message": {"text": text, "html": text, "markdown": text},
            "detailedMessage": {"text": text, "html": text, "markdown": text},
            "resource": {
                "id": 2,
                "workItemId": 0,
                "rev": 2,
                "revisedBy": None,
                "revisedDate": "2014-07-15T17:42:44.663Z",
                "fields": {
                    "System.Rev": {"oldValue": "1", "newValue": "2"},
                    "System.State": {"oldValue": "New", "newValue": "Approved"},
                    "System.Reason": {
                        "oldValue": "New defect reported",
                        "newValue": "Approved by the Product Owner",
                    },
                },
                "_links": {"parent": {"href": base}},
                "url": f"{base}/updates/2",
                "revision": {
                    "id": TEST_SAMPLE_WORK_ITEM,
                    "rev": 2,
                    "fields": {
                        "System.AreaPath": "FabrikamCloud",
                        "System.TeamProject": "FabrikamCloud",
                        "System.WorkItemType": "Bug",
                        "System.State": "New",
                        "System.Reason": "New defect reported",
                        "System.Title": "Some great new idea!",
                        "System.Tags": "",
                    },
                    "url": f"{base}/revisions/2",
                },
            },
            "resourceVersion": "1.0",
            "resourceContainers": {
                "collection": {"id": "c12d0eb8-e382-443b-9f9c-c52cba5014c2"},
                "account": {"id": "f844ec47-a9db-4511-8281-8b63f4eaf94e"},
                "project": {"id": "be9b3917-87e6-42a4-a549-2bc06a7a878f"},
            },
            "createdDate": "2014-10-27T15:37:24.873Z",
        }

    def subscription(self) -> tuple[str | None, str | None, str]:
        """The service hook in effect now: URL, secret and how the secret is sent."""
        return self.s.hook_url, self.s.hook_secret, self.s.hook_auth

    async def deliver(
        self,
        payloads: list[dict[str, Any]],
        subscription: tuple[str | None, str | None, str] | None = None,
    ) -> list[dict[str, Any]]:
        """POST the payloads, in order, to the hook URL; record every answer. A hook sent after
        its response (`subscription` taken when the event happened) goes where the service hook
        pointed then, as Azure DevOps sends an event to the subscriptions it had."""
        url, secret, auth = subscription or self.subscription()
        if not url:
            return []
        era = self.s.hooks_era
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if secret is not None and auth == "header":
            headers["X-Sedno-Secret"] = secret
        elif secret is not None:
            token = base64.b64encode(f"azure-devops:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        results: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=10) as client:
            for payload in payloads:
                record: dict[str, Any] = {
                    "work_item_id": payload["resource"]["workItemId"],
                    "rev": payload["resource"]["rev"],
                    "event_id": payload["id"],
                    "sent_at": _now(),
                    "status_code": None,
                    "error": None,
                    "payload": payload,
                }
                try:
                    answer = await client.post(
                        url, content=msgspec.json.encode(payload), headers=headers
                    )
                    record["status_code"] = answer.status_code
                except httpx.HTTPError as exc:
                    record["error"] = repr(exc)
                if self.s.hooks_era == era:
                    self.s.hooks.append(record)
                results.append(record)
        return results


def create_standin_app(
    *,
    project: str = "Sedno",
    pat: str = "standin-pat",
    hook_url: str | None = None,
    hook_secret: str | None = None,
) -> Litestar:
    """The stand-in as a Litestar app with fresh in-memory state."""
    state = _State(project=project, pat=pat, hook_url=hook_url, hook_secret=hook_secret)
    state.project_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"standin/{project}"))
    engine = _Engine(state)

    def authorised(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        header = request.headers.get("Authorization", "")
        ok = False
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
                ok = decoded.partition(":")[2] == state.pat
            except ValueError:
                ok = False
        if ok:
            return None
        if request.headers.get("X-TFS-FedAuthRedirect", "").lower() == "suppress":
            response = _error(
                401,
                "UnauthorizedRequestException",
                "TF400813: The user is not authorized to access this resource.",
            )
            response.headers["WWW-Authenticate"] = 'Basic realm="https://standin.local/"'
            return response
        return Response(
            b"<html><body>Sign in to your account</body></html>",
            status_code=203,
            media_type="text/html; charset=utf-8",
        )

    async def handle(
        request: Request[Any, Any, Any],
        kind: CallKind,
        org: str,
        project_name: str,
        work: Callable[[], Awaitable[Response[bytes]]],
    ) -> Response[bytes]:
        state.base_url = str(request.base_url).rstrip("/")
        state.org = org
        # Logged on arrival: a slow answer must not hide that the call happened.
        call: dict[str, Any] = {
            "kind": kind,
            "method": request.method,
            "path": request.url.path,
            "status": None,
            "at": _now(),
        }
        state.calls.append(call)
        response = await _handle(request, kind, project_name, work)
        call["status"] = response.status_code
        return response

    async def _handle(
        request: Request[Any, Any, Any],
        kind: CallKind,
        project_name: str,
        work: Callable[[], Awaitable[Response[bytes]]],
    ) -> Response[bytes]:
        version = request.query_params.get("api-version")
        if not version:
            return _error(
                400,
                "VssVersionNotSpecifiedException",
                "No api-version was supplied for the request.",
            )
        if not version.startswith("7."):
            return _error(
                400,
                "VssVersionOutOfRangeException",
                f"The requested REST API version of {version} is out of range for this server.",
            )
        fault = state.take_fault(kind)
        extra_headers: dict[str, str] = {}
        if fault is not None:
            if fault.mode == "down":
                return Response(
                    b"<html><body>Service Unavailable</body></html>",
                    status_code=503,
                    media_type="text/html",
                )
            if fault.mode == "hang":
                await asyncio.sleep(fault.seconds)
                return _error(503, "ServiceUnavailableException", "stand-in: hung, nothing applied")
            if fault.mode == "rate_limit":
                response = _error(
                    429,
                    "RequestBlockedException",
                    "TF400733: The request has been blocked: too many requests.",
                )
                response.headers.update(_rate_headers(fault.retry_after))
                return response
            if fault.mode == "error":
                return _error(fault.status, "InternalServerErrorException", "stand-in fault")
            if fault.mode == "retry_after_ok":
                extra_headers = _rate_headers(fault.retry_after)
        denied = authorised(request)
        if denied is not None:
            return denied
        if project_name.casefold() != state.project.casefold():
            return _error(
                404,
                "ProjectDoesNotExistWithNameException",
                f"TF200016: The following project does not exist: {project_name}.",
            )
        try:
            response = await work()
        except _ApiError as exc:
            return _error(exc.status, exc.type_key, exc.message)
        if fault is not None and fault.mode == "slow_apply":
            await asyncio.sleep(fault.seconds)
        response.headers.update(extra_headers)
        return response

    async def patch_body(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json-patch+json":
            raise _ApiError(
                415,
                "VssRequestContentTypeNotSupportedException",
                f"The request indicated a Content-Type of {content_type!r} for method type "
                f"{request.method} which is not supported. Valid content types for this method "
                "are: application/json-patch+json.",
            )
        try:
            ops = msgspec.json.decode(await request.body(), type=list[dict[str, Any]])
        except msgspec.DecodeError as exc:
            raise _ApiError(400, "VssPropertyValidationException", f"bad patch: {exc}") from exc
        if not ops:
            raise _ApiError(400, "VssPropertyValidationException", "empty patch document")
        return ops

    def find(target: str) -> _Item:
        if not target.isdigit() or int(target) not in state.items:
            raise _ApiError(
                404,
                "WorkItemDoesNotExistException",
                f"TF401232: Work item {target} does not exist, or you do not have permissions "
                "to read it.",
            )
        return state.items[int(target)]

    route = "/{org:str}/{project:str}/_apis/wit/workitems/{target:str}"

    @post(route)
    async def create_route(
        request: Request[Any, Any, Any],
        org: FromPath[str],
        project: FromPath[str],
        target: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            if not target.startswith("$"):
                raise _ApiError(405, "MethodNotAllowed", "create is POST …/workitems/${type}")
            item = engine.create(target[1:], await patch_body(request))
            return _json(200, engine.render(item))

        return await handle(request, "create", org, project, work)

    @patch(route)
    async def update_route(
        request: Request[Any, Any, Any],
        org: FromPath[str],
        project: FromPath[str],
        target: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            item = find(target)
            changed = engine.update(item, await patch_body(request))
            response = _json(200, engine.render(item))
            if changed and state.hook_url:
                response.background = BackgroundTask(
                    engine.deliver, [engine.hook_payload(item, item.rev)], engine.subscription()
                )
            return response

        return await handle(request, "update", org, project, work)

    @get(route)
    async def get_route(
        request: Request[Any, Any, Any],
        org: FromPath[str],
        project: FromPath[str],
        target: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            expand = (request.query_params.get("$expand") or "none").lower()
            item = find(target)
            return _json(200, engine.render(item, relations=expand in ("relations", "all")))

        return await handle(request, "get", org, project, work)

    @post("/{org:str}/{project:str}/_apis/wit/wiql")
    async def wiql_route(
        request: Request[Any, Any, Any], org: FromPath[str], project: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise _ApiError(
                    415, "VssRequestContentTypeNotSupportedException", "use application/json"
                )
            try:
                body = msgspec.json.decode(await request.body(), type=_WiqlBody)
            except msgspec.DecodeError as exc:
                raise _ApiError(400, "VssPropertyValidationException", str(exc)) from exc
            ids = engine.wiql(body.query)
            api_base = f"{state.base_url}/{state.org}/{state.project_id}/_apis/wit/workItems"
            return _json(
                200,
                {
                    "queryType": "flat",
                    "queryResultType": "workItem",
                    "asOf": _now(),
                    "columns": [{"referenceName": "System.Id", "name": "ID"}],
                    "workItems": [{"id": i, "url": f"{api_base}/{i}"} for i in ids],
                },
            )

        return await handle(request, "wiql", org, project, work)

    def wit_url(path: str) -> str:
        return f"{state.base_url}/{state.org}/{state.project_id}/_apis/wit/{path}"

    def describe_type(t: ProcessType) -> dict[str, Any]:
        return {
            "name": t.name,
            "referenceName": t.reference_name,
            "description": "",
            "isDisabled": False,
            "fields": [
                {"referenceName": f, "name": f.rpartition(".")[2]} for f in sorted(t.fields)
            ],
            "states": [{"name": n, "color": "b2b2b2", "category": c} for n, c in t.states],
            "url": wit_url(f"workItemTypes/{quote(t.name)}"),
        }

    def find_type(name: str) -> ProcessType:
        found = state.process.type_named(name)
        if found is None:
            raise _ApiError(
                404,
                "WorkItemTypeNotFoundException",
                f"VS402323: Work item type {name} does not exist in project {state.project}.",
            )
        return found

    @get("/{org:str}/_apis/projects/{project:str}")
    async def project_route(
        request: Request[Any, Any, Any], org: FromPath[str], project: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            body: dict[str, Any] = {
                "id": state.project_id,
                "name": state.project,
                "state": "wellFormed",
                "visibility": "private",
                "url": f"{state.base_url}/{state.org}/_apis/projects/{state.project_id}",
            }
            if (request.query_params.get("includeCapabilities") or "").lower() == "true":
                body["capabilities"] = {
                    "processTemplate": {
                        "templateName": state.process.name,
                        "templateTypeId": state.process.type_id,
                    },
                    "versioncontrol": {"sourceControlType": "Git"},
                }
            return _json(200, body)

        return await handle(request, "meta", org, project, work)

    @get("/{org:str}/{project:str}/_apis/wit/workitemtypes")
    async def types_route(
        request: Request[Any, Any, Any], org: FromPath[str], project: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            value = [describe_type(t) for t in state.process.types]
            return _json(200, {"count": len(value), "value": value})

        return await handle(request, "meta", org, project, work)

    @get("/{org:str}/{project:str}/_apis/wit/workitemtypes/{name:str}/states")
    async def states_route(
        request: Request[Any, Any, Any],
        org: FromPath[str],
        project: FromPath[str],
        name: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            value = describe_type(find_type(name))["states"]
            return _json(200, {"count": len(value), "value": value})

        return await handle(request, "meta", org, project, work)

    @get("/{org:str}/{project:str}/_apis/wit/workitemtypecategories")
    async def categories_route(
        request: Request[Any, Any, Any], org: FromPath[str], project: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            value = []
            for ref, names in state.process.categories.items():
                refs = [{"name": n, "url": wit_url(f"workItemTypes/{quote(n)}")} for n in names]
                value.append(
                    {
                        "name": ref.removeprefix("Microsoft.").replace("Category", " Category"),
                        "referenceName": ref,
                        "defaultWorkItemType": refs[0],
                        "workItemTypes": refs,
                        "url": wit_url(f"workItemTypeCategories/{ref}"),
                    }
                )
            return _json(200, {"count": len(value), "value": value})

        return await handle(request, "meta", org, project, work)

    @get("/{org:str}/{project:str}/_apis/wit/classificationnodes/{group:str}")
    async def areas_route(
        request: Request[Any, Any, Any],
        org: FromPath[str],
        project: FromPath[str],
        group: FromPath[str],
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            if group.casefold() != "areas":
                raise _ApiError(
                    404,
                    "WorkItemClassificationNodeDoesNotExistException",
                    f"VS402485: The node {group} does not exist.",
                )
            raw_depth = request.query_params.get("$depth") or "0"
            depth = int(raw_depth) if raw_depth.isdigit() else 0
            return _json(200, area_tree(depth))

        return await handle(request, "meta", org, project, work)

    def area_tree(depth: int) -> dict[str, Any]:
        ids = {path: 1000 + i for i, path in enumerate(engine.area_paths())}

        def node(path: str, level: int) -> dict[str, Any]:
            name = path.rpartition("\\")[2]
            children = [p for p in ids if p.rpartition("\\")[0] == path]
            rel = path.partition("\\")[2]
            body: dict[str, Any] = {
                "id": ids[path],
                "identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, f"area/{path}")),
                "name": name,
                "structureType": "area",
                "hasChildren": bool(children),
                "path": "\\" + "\\".join([state.project, "Area", *([rel] if rel else [])]),
                "url": wit_url("classificationNodes/Areas" + (f"/{quote(rel)}" if rel else "")),
            }
            if children and level < depth:
                body["children"] = [node(c, level + 1) for c in children]
            return body

        return node(state.project, 0)

    @post("/{org:str}/{project:str}/_apis/wit/workitemsbatch")
    async def batch_route(
        request: Request[Any, Any, Any], org: FromPath[str], project: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            try:
                body = msgspec.json.decode(await request.body(), type=_BatchBody)
            except msgspec.DecodeError as exc:
                raise _ApiError(400, "VssPropertyValidationException", str(exc)) from exc
            if not body.ids or len(body.ids) > BATCH_LIMIT:
                raise _ApiError(
                    400,
                    "VssPropertyValidationException",
                    f"VS403474: The number of ids must be between 1 and {BATCH_LIMIT}.",
                )
            if body.fields and body.expand not in (None, "none"):
                raise _ApiError(
                    400,
                    "ConflictingParametersException",
                    "VS403437: The expand parameter can not be used with the fields parameter.",
                )
            value: list[dict[str, Any] | None] = []
            for item_id in body.ids:
                item = state.items.get(item_id)
                if item is None:
                    if body.error_policy != "omit":
                        raise _ApiError(
                            404,
                            "WorkItemDoesNotExistException",
                            f"TF401232: Work item {item_id} does not exist.",
                        )
                    value.append(None)
                    continue
                rendered = engine.render(item, relations=body.expand in ("relations", "all"))
                if body.fields:
                    wanted = set(body.fields)
                    rendered["fields"] = {
                        k: v for k, v in rendered["fields"].items() if k in wanted
                    }
                    rendered.pop("_links", None)
                value.append(rendered)
            return _json(200, {"count": len(value), "value": value})

        return await handle(request, "batch", org, project, work)

    @get("/{org:str}/_apis/identities")
    async def identities_route(
        request: Request[Any, Any, Any], org: FromPath[str]
    ) -> Response[bytes]:
        async def work() -> Response[bytes]:
            wanted = (request.query_params.get("filterValue") or "").strip()
            if request.query_params.get("searchFilter") != "General" or not wanted:
                raise _ApiError(
                    400, "ArgumentException", "searchFilter=General and filterValue are required"
                )
            who = engine.known_identity(wanted)
            value = []
            if who is not None:
                value.append(
                    {
                        "id": who["id"],
                        "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{who['uniqueName']}",
                        "providerDisplayName": who["displayName"],
                        "isActive": True,
                        "properties": {
                            "Account": {"$type": "System.String", "$value": who["uniqueName"]},
                            "Mail": {"$type": "System.String", "$value": who["uniqueName"]},
                        },
                    }
                )
            return _json(200, {"count": len(value), "value": value})

        return await handle(request, "meta", org, state.project, work)

    # -- test and admin routes

    @post("/_standin/faults", status_code=200)
    async def add_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
        raw = await request.body()
        try:
            if raw.lstrip().startswith(b"{") and b'"faults"' in raw:
                faults = msgspec.json.decode(raw, type=FaultRequest).faults
            else:
                faults = [msgspec.json.decode(raw, type=Fault)]
        except msgspec.DecodeError as exc:
            return _json(400, {"error": str(exc)})
        state.faults.extend(faults)
        return _json(200, {"faults": state.faults})

    @delete("/_standin/faults", status_code=200)
    async def clear_faults() -> Response[bytes]:
        state.faults.clear()
        return _json(200, {"faults": []})

    @post("/_standin/config", status_code=200)
    async def configure(request: Request[Any, Any, Any]) -> Response[bytes]:
        try:
            config = msgspec.json.decode(await request.body(), type=StandinConfig)
        except msgspec.DecodeError as exc:
            return _json(400, {"error": str(exc)})
        if config.hook_url is not None:
            state.hook_url = config.hook_url or None
        if config.hook_secret is not None:
            state.hook_secret = config.hook_secret or None
        if config.hook_auth is not None:
            state.hook_auth = config.hook_auth
        if config.resource_details is not None:
            state.resource_details = config.resource_details
        if config.process is not None:
            state.process = PROCESSES[config.process]
        return _json(
            200,
            {"hook_url": state.hook_url, "hook_auth": state.hook_auth, "project": state.project},
        )

    @post("/_standin/reset", status_code=200)
    async def reset(request: Request[Any, Any, Any]) -> Response[bytes]:
        raw = await request.body()
        try:
            fresh = msgspec.json.decode(raw, type=ResetRequest) if raw.strip() else ResetRequest()
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return _json(400, {"error": str(exc)})
        state.process = PROCESSES[fresh.process]
        state.areas, state.identities = list(fresh.areas), list(fresh.identities)
        state.resource_details = "all"
        state.items.clear()
        state.faults.clear()
        state.hook_url, state.hook_secret, state.hook_auth = hook_url, hook_secret, "basic"
        state.hooks.clear()
        state.hooks_era += 1
        state.calls.clear()
        state.next_id = 1
        return _json(200, {"reset": True, "process": state.process.name})

    @get("/_standin/workitems")
    async def list_items() -> Response[bytes]:
        items = [{**engine.render(i), "comments": i.comments} for i in state.items.values()]
        return _json(200, {"count": len(items), "value": items})

    @post("/_standin/workitems/{item_id:int}/state", status_code=200)
    async def change_state(
        request: Request[Any, Any, Any], item_id: FromPath[int]
    ) -> Response[bytes]:
        try:
            change = msgspec.json.decode(await request.body(), type=StateChange)
        except msgspec.DecodeError as exc:
            return _json(400, {"error": str(exc)})
        if item_id not in state.items:
            return _json(404, {"error": f"no work item {item_id}"})
        item = state.items[item_id]
        ops: list[dict[str, Any]] = [
            {"op": "replace", "path": "/fields/System.State", "value": change.state}
        ]
        if change.reason:
            ops.append({"op": "replace", "path": "/fields/System.Reason", "value": change.reason})
        by = _identity(change.changed_by or "Produkcja <produkcja@standin.local>")
        try:
            engine.update(item, ops, by=by)
        except _ApiError as exc:
            return _error(exc.status, exc.type_key, exc.message)
        payload = engine.hook_payload(item, item.rev)
        payloads = [payload] * max(1, change.duplicate)
        if change.out_of_order and item.rev > 1:
            payloads.append(engine.hook_payload(item, item.rev - 1))
        deliveries = await engine.deliver(payloads)
        return _json(200, {"work_item": engine.render(item), "deliveries": deliveries})

    @post("/_standin/hooks/test", status_code=200)
    async def test_hook() -> Response[bytes]:
        """The subscription's *Test* button: Microsoft's sample event, not a real change."""
        return _json(200, {"deliveries": await engine.deliver([engine.test_sample()])})

    @get("/_standin/hooks")
    async def list_hooks() -> Response[bytes]:
        return _json(200, {"count": len(state.hooks), "value": state.hooks})

    @get("/_standin/calls")
    async def list_calls() -> Response[bytes]:
        return _json(200, {"count": len(state.calls), "value": state.calls})

    return Litestar(
        route_handlers=[
            create_route,
            update_route,
            get_route,
            wiql_route,
            project_route,
            types_route,
            states_route,
            categories_route,
            areas_route,
            batch_route,
            identities_route,
            test_hook,
            add_faults,
            clear_faults,
            configure,
            reset,
            list_items,
            change_state,
            list_hooks,
            list_calls,
        ],
        debug=False,
    )


def _rate_headers(retry_after: float) -> dict[str, str]:
    seconds = f"{retry_after:g}"
    return {
        "Retry-After": seconds,
        "X-RateLimit-Resource": "ATCPU",
        "X-RateLimit-Delay": "0.000",
        "X-RateLimit-Limit": "200",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(datetime.now(UTC).timestamp() + retry_after)),
    }


def run_standin(
    host: str = "127.0.0.1",
    port: int = 8765,
    hook_url: str | None = None,
    hook_secret: str | None = None,
) -> None:
    """Serve the stand-in with uvicorn; point ``SEDNO_DEVOPS_URL`` at ``http://host:port/standin``."""
    import uvicorn

    app = create_standin_app(hook_url=hook_url, hook_secret=hook_secret)
    print(
        f"Azure DevOps stand-in: SEDNO_DEVOPS_URL=http://{host}:{port}/standin "
        "SEDNO_DEVOPS_PROJECT=Sedno SEDNO_DEVOPS_PAT=standin-pat"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
