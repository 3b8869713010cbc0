"""Azure DevOps (REST API 7.1) adapter: hand tickets to production as work items.

A synchronous client on ``httpx.Client``: it runs inside the outbox worker thread.

Contract for the caller (the outbox job):

* ``DevOpsRetryable`` - try again later, not before ``retry_after`` seconds when it is set.
  ``maybe_applied`` is True when the request may have reached Azure DevOps (a read timeout, a
  dropped connection or a 5xx after sending): **after a failed create, look the item up with
  ``find_by_tag(ticket_tag(number))`` before creating again** - create has no idempotency key,
  so a blind retry can open a duplicate work item. ``create_or_adopt`` does exactly that.
* ``DevOpsFinal`` - do not retry the same request (bad PAT, missing permission, unknown id,
  rule violation); ``RevisionConflict`` is the final answer to a stale ``rev``: re-read the item
  with ``get_work_item`` and decide again.
* ``Retry-After`` is honoured on **every** answer, 200 included: the client remembers the
  earliest moment it may call again (``next_allowed_at``, ``time.monotonic`` clock) and, until
  then, refuses to send anything, raising ``DevOpsRetryable(retry_after=remaining)`` without
  touching the network. A worker either reschedules the job for that many seconds or calls
  ``wait_for_allowance()`` to sleep it off in its own thread.
"""

from __future__ import annotations

import email.utils
import html
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar
from urllib.parse import quote

import httpx
import msgspec

_T = TypeVar("_T")

API_VERSION: Final = "7.1"
JSON_PATCH: Final = "application/json-patch+json"
REPRO_STEPS: Final = "Microsoft.VSTS.TCM.ReproSteps"
PRIORITY: Final = "Microsoft.VSTS.Common.Priority"
BUG_CATEGORY: Final = "Microsoft.BugCategory"
REQUIREMENT_CATEGORY: Final = "Microsoft.RequirementCategory"
BATCH_SIZE: Final = 200
"""Ids one ``workitemsbatch`` call may carry."""
StateCategory = Literal["Proposed", "InProgress", "Resolved", "Completed", "Removed"]
STATE_CATEGORIES: Final[tuple[str, ...]] = (
    "Proposed", "InProgress", "Resolved", "Completed", "Removed",
)  # fmt: skip

TicketPriority = Literal["krytyczny", "wysoki", "normalny", "niski"]
PRIORITY_TO_DEVOPS: Final[Mapping[str, int]] = {
    "krytyczny": 1,
    "wysoki": 2,
    "normalny": 3,
    "niski": 4,
}


# ---------------------------------------------------------------- errors


class DevOpsError(Exception):
    """Base of every error the adapter raises."""


class DevOpsRetryable(DevOpsError):
    """Temporary failure: 429, 5xx, timeout, connection error, or a local Retry-After wait."""

    def __init__(
        self, message: str, retry_after: float | None = None, *, maybe_applied: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.maybe_applied = maybe_applied

    def __repr__(self) -> str:
        return (
            f"DevOpsRetryable({self.message!r}, retry_after={self.retry_after!r}, "
            f"maybe_applied={self.maybe_applied!r})"
        )


class DevOpsFinal(DevOpsError):
    """Permanent failure for this request (4xx other than 429, or an unusable answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class RevisionConflict(DevOpsFinal):
    """The ``test /rev`` operation failed: the item changed since ``expected_rev`` was read."""

    def __init__(self, work_item_id: int, expected_rev: int, status: int, message: str) -> None:
        super().__init__(status, message)
        self.work_item_id = work_item_id
        self.expected_rev = expected_rev


class MalformedHookPayload(ValueError):
    """A service-hook body that is not a usable ``workitem.updated`` event."""

    def __init__(self, field: str, problem: str = "is missing") -> None:
        super().__init__(f"workitem.updated payload: {field} {problem}")
        self.field = field


# ---------------------------------------------------------------- values


class PatchOp(msgspec.Struct, frozen=True, omit_defaults=True):
    """One JSON Patch (RFC 6902) operation as Azure DevOps accepts it."""

    op: Literal["add", "replace", "remove", "test"]
    path: str
    value: Any = None


class WorkItemSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What Sedno sends to production when a ticket is handed off."""

    ticket_number: str
    """e.g. ``ZS/2026/17``; becomes the lookup tag ``sedno[ZS/2026/17]``."""
    tag_with_ticket: bool = True
    """Add the lookup tag (a new tag definition per ticket); off: found by the title's
    ``[ZS/2026/17]`` instead."""
    ticket_url: str
    """The ticket's page in Sedno; linked from the work item as a Hyperlink relation."""
    title: str
    description: str
    """Plain ticket text; escaped into HTML."""
    area_path: str
    priority: TicketPriority = "normalny"
    repro_steps: str | None = None
    """Plain text; the description is used when absent."""
    tags: tuple[str, ...] = ()
    assigned_to: str | None = None
    """The second-line person (e-mail or display name), optional."""
    work_item_type: str = "Bug"
    type_fields: frozenset[str] | None = None
    """Fields of ``work_item_type`` (from ``describe_project``); None = send the Bug's fields.
    Repro steps and priority are sent only to types that have them (Basic's Issue has no
    repro steps, and the service refuses a field its type lacks)."""


class WorkItem(msgspec.Struct, frozen=True, kw_only=True):
    """A work item as Azure DevOps answered it."""

    id: int
    rev: int
    state: str | None
    title: str | None
    tags: tuple[str, ...]
    area_path: str | None
    html_url: str | None
    work_item_type: str | None = None
    priority: int | None = None
    assigned_to: str | None = None
    hyperlinks: tuple[str, ...] = ()
    fields: dict[str, Any] = msgspec.field(default_factory=dict)


class WorkItemState(msgspec.Struct, frozen=True):
    """A state of a work item type and its category."""

    name: str
    category: str


class WorkItemTypeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A work item type of the project: its fields and, when read, its states."""

    name: str
    fields: frozenset[str] = frozenset()
    states: tuple[WorkItemState, ...] = ()

    def state_in(self, category: str) -> str | None:
        """The first state of ``category`` (the one a board moves an item to), or None."""
        return next((s.name for s in self.states if s.category == category), None)

    def state_named(self, name: str) -> WorkItemState | None:
        return next((s for s in self.states if s.name.casefold() == name.casefold()), None)


class ProjectInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What Sedno needs to know of the project: process, types, categories, area paths."""

    project: str
    process: str
    """The process template's name (Agile, Scrum, CMMI, Basic or an inherited one)."""
    types: tuple[WorkItemTypeInfo, ...]
    """Every type; states are read for the handoff type only (``work_item_type``)."""
    categories: dict[str, str]
    """Category reference name → its default work item type."""
    areas: tuple[str, ...]
    """Every area path, as work items carry them (``Project\\Team\\Module``)."""
    work_item_type: str
    """The type handoffs create: the override, else the Bug category's default, else the
    Requirement category's."""

    def type_named(self, name: str | None) -> WorkItemTypeInfo | None:
        wanted = (name or "").casefold()
        return next((t for t in self.types if t.name.casefold() == wanted), None)

    @property
    def handoff_type(self) -> WorkItemTypeInfo:
        found = self.type_named(self.work_item_type)
        assert found is not None, "describe_project picks a type of the project"
        return found

    def area_named(self, path: str) -> str | None:
        wanted = path.strip().casefold()
        return next((a for a in self.areas if a.casefold() == wanted), None)


class WorkItemUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """What a ``workitem.updated`` service hook tells Sedno."""

    work_item_id: int
    rev: int
    state: str | None
    """The state in this revision (also when the state did not change)."""
    new_state: str | None
    """Set only when this revision changed ``System.State``."""
    old_state: str | None
    changed_by: str | None
    changed_fields: tuple[str, ...]
    tags: tuple[str, ...]
    title: str | None = None
    event_id: str | None = None
    """The notification id; a duplicate delivery repeats it."""
    complete: bool = True
    """False for "Resource details to send: Minimal": no fields came, read the item instead."""
    test_sample: bool = False
    """Microsoft's sample event, sent by the subscription's *Test* button: apply nothing."""


# ---------------------------------------------------------------- pure helpers


def ticket_tag(ticket_number: str) -> str:
    """The tag that finds a ticket's work item; brackets keep ``…/1`` from matching ``…/17``."""
    return f"sedno[{ticket_number.strip()}]"


def title_mark(ticket_number: str) -> str:
    """How a work item's title starts (``[ZS/2026/17] …``): the lookup without the tag."""
    return f"[{ticket_number.strip()}]"


def join_tags(tags: Sequence[str]) -> str:
    """Azure DevOps keeps tags as one string separated by ``"; "``."""
    seen: list[str] = []
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if ";" in tag or "," in tag:
            raise ValueError(f"a tag cannot contain ';' or ',': {tag!r}")
        if tag.casefold() not in (t.casefold() for t in seen):
            seen.append(tag)
    return "; ".join(seen)


def split_tags(value: object) -> tuple[str, ...]:
    if not isinstance(value, str):
        return ()
    return tuple(t.strip() for t in value.split(";") if t.strip())


def text_to_html(text: str) -> str:
    """Escape ticket text into HTML paragraphs, keeping line breaks."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>"
        for p in paragraphs
    )


def wiql_literal(value: str) -> str:
    """A WIQL string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def build_create_patch(spec: WorkItemSpec) -> list[PatchOp]:
    """The JSON Patch document that creates the work item for ``spec``."""
    link = (
        f'<p>Sedno: <a href="{html.escape(spec.ticket_url, quote=True)}">'
        f"{html.escape(spec.ticket_number)}</a></p>"
    )

    def has(field: str) -> bool:
        return spec.type_fields is None or field in spec.type_fields

    ops = [
        PatchOp("add", "/fields/System.Title", spec.title),
        PatchOp("add", "/fields/System.Description", text_to_html(spec.description) + link),
    ]
    if has(REPRO_STEPS):
        ops.append(
            PatchOp(
                "add", f"/fields/{REPRO_STEPS}", text_to_html(spec.repro_steps or spec.description)
            )
        )
    ops.append(PatchOp("add", "/fields/System.AreaPath", spec.area_path))
    if has(PRIORITY):
        ops.append(PatchOp("add", f"/fields/{PRIORITY}", PRIORITY_TO_DEVOPS[spec.priority]))
    lookup = [ticket_tag(spec.ticket_number)] if spec.tag_with_ticket else []
    tags = join_tags([*lookup, *spec.tags])
    if tags:
        ops.append(PatchOp("add", "/fields/System.Tags", tags))
    if spec.assigned_to:
        ops.append(PatchOp("add", "/fields/System.AssignedTo", spec.assigned_to))
    ops.append(
        PatchOp(
            "add",
            "/relations/-",
            {
                "rel": "Hyperlink",
                "url": spec.ticket_url,
                "attributes": {"comment": f"Sedno {spec.ticket_number}"},
            },
        )
    )
    return ops


def build_update_patch(rev: int, ops: Sequence[PatchOp]) -> list[PatchOp]:
    """Prefix ``ops`` with the optimistic-concurrency ``test /rev``."""
    return [PatchOp("test", "/rev", rev), *ops]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _identity_name(value: object) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in ("uniqueName", "displayName", "name"):
            found = value.get(key)
            if isinstance(found, str) and found:
                return found
    return None


def _int_field(container: Mapping[str, Any], key: str, where: str) -> int:
    value = container.get(key)
    if value is None:
        raise MalformedHookPayload(f"{where}.{key}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedHookPayload(f"{where}.{key}", "is not an integer")
    return value


def _object_field(container: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = container.get(key)
    if value is None:
        raise MalformedHookPayload(f"{where}.{key}" if where else key)
    if not isinstance(value, Mapping):
        raise MalformedHookPayload(f"{where}.{key}" if where else key, "is not an object")
    return value


def parse_workitem_updated(payload: object) -> WorkItemUpdate:
    """Turn a ``workitem.updated`` service-hook body (decoded JSON) into a ``WorkItemUpdate``.

    The state is the changed field's ``newValue`` when the revision changed it (Microsoft's
    sample disagrees with its own ``revision.fields``), else ``revision.fields``. A payload
    sent with "Resource details: Minimal" has neither: ``complete`` is False. A resource whose
    ``workItemId`` is 0 is the *Test* button's sample (real events always carry the id).
    """
    if not isinstance(payload, Mapping):
        raise MalformedHookPayload("payload", "is not a JSON object")
    event_type = payload.get("eventType")
    if event_type is None:
        raise MalformedHookPayload("eventType")
    if event_type != "workitem.updated":
        raise MalformedHookPayload("eventType", f"is {event_type!r}, not 'workitem.updated'")
    resource = _object_field(payload, "resource", "")
    rev = _int_field(resource, "rev", "resource")
    revision = resource.get("revision")
    if revision is not None and not isinstance(revision, Mapping):
        raise MalformedHookPayload("resource.revision", "is not an object")
    item_fields: Mapping[str, Any] = {}
    if revision is not None:
        item_fields = _object_field(revision, "fields", "resource.revision")
    raw_id = resource.get("workItemId")
    event_id = payload.get("id")
    if raw_id == 0 and not isinstance(raw_id, bool):
        sample_id = revision.get("id") if revision is not None else None
        return WorkItemUpdate(
            work_item_id=sample_id if isinstance(sample_id, int) else 0,
            rev=rev, state=None, new_state=None, old_state=None, changed_by=None,
            changed_fields=(), tags=(), test_sample=True,
            event_id=event_id if isinstance(event_id, str) else None,
        )  # fmt: skip
    if raw_id is None:
        raise MalformedHookPayload("resource.workItemId")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int) or raw_id <= 0:
        raise MalformedHookPayload("resource.workItemId", "is not a positive integer")
    changes = resource.get("fields") or {}
    if not isinstance(changes, Mapping):
        raise MalformedHookPayload("resource.fields", "is not an object")
    state_change = changes.get("System.State")
    old_state = new_state = None
    if isinstance(state_change, Mapping):
        old_state = state_change.get("oldValue")
        new_state = state_change.get("newValue")
    state = new_state if isinstance(new_state, str) else item_fields.get("System.State")
    title = item_fields.get("System.Title")
    changed_by = _identity_name(resource.get("revisedBy")) or _identity_name(
        item_fields.get("System.ChangedBy")
    )
    return WorkItemUpdate(
        work_item_id=raw_id,
        rev=rev,
        state=state if isinstance(state, str) else None,
        new_state=new_state if isinstance(new_state, str) else None,
        old_state=old_state if isinstance(old_state, str) else None,
        changed_by=changed_by,
        changed_fields=tuple(sorted(str(k) for k in changes)),
        tags=split_tags(item_fields.get("System.Tags")),
        title=title if isinstance(title, str) else None,
        event_id=event_id if isinstance(event_id, str) else None,
        complete=revision is not None,
    )


# ---------------------------------------------------------------- wire shapes


class _Relation(msgspec.Struct):
    rel: str
    url: str


class _WorkItemWire(msgspec.Struct):
    id: int
    rev: int
    fields: dict[str, Any] = msgspec.field(default_factory=dict)
    relations: list[_Relation] | None = None
    links: dict[str, Any] | None = msgspec.field(default=None, name="_links")


class _WiqlRef(msgspec.Struct):
    id: int


class _WiqlResult(msgspec.Struct):
    work_items: list[_WiqlRef] = msgspec.field(default_factory=list, name="workItems")


class _WorkItemList(msgspec.Struct):
    value: list[_WorkItemWire | None] = msgspec.field(default_factory=list)


class _NamedRef(msgspec.Struct):
    name: str


class _FieldRef(msgspec.Struct):
    reference_name: str = msgspec.field(name="referenceName")


class _TypeWire(msgspec.Struct):
    name: str
    fields: list[_FieldRef] = msgspec.field(default_factory=list)
    is_disabled: bool = msgspec.field(default=False, name="isDisabled")


class _TypeList(msgspec.Struct):
    value: list[_TypeWire]


class _StateList(msgspec.Struct):
    value: list[WorkItemState]


class _CategoryWire(msgspec.Struct):
    reference_name: str = msgspec.field(name="referenceName")
    default_type: _NamedRef | None = msgspec.field(default=None, name="defaultWorkItemType")


class _CategoryList(msgspec.Struct):
    value: list[_CategoryWire]


class _AreaNode(msgspec.Struct):
    name: str
    children: list[_AreaNode] = msgspec.field(default_factory=list)


class _ProcessTemplate(msgspec.Struct):
    template_name: str = msgspec.field(default="", name="templateName")


class _Capabilities(msgspec.Struct):
    process_template: _ProcessTemplate | None = msgspec.field(default=None, name="processTemplate")


class _ProjectWire(msgspec.Struct):
    name: str
    capabilities: _Capabilities | None = None


class _IdentityList(msgspec.Struct):
    count: int = 0


class _ErrorBody(msgspec.Struct):
    message: str | None = None
    type_key: str | None = msgspec.field(default=None, name="typeKey")


def _to_work_item(wire: _WorkItemWire) -> WorkItem:
    f = wire.fields
    html_url = None
    if wire.links and isinstance(wire.links.get("html"), Mapping):
        href = wire.links["html"].get("href")
        html_url = href if isinstance(href, str) else None
    priority = f.get("Microsoft.VSTS.Common.Priority")
    return WorkItem(
        id=wire.id,
        rev=wire.rev,
        state=f.get("System.State"),
        title=f.get("System.Title"),
        tags=split_tags(f.get("System.Tags")),
        area_path=f.get("System.AreaPath"),
        html_url=html_url,
        work_item_type=f.get("System.WorkItemType"),
        priority=priority if isinstance(priority, int) else None,
        assigned_to=_identity_name(f.get("System.AssignedTo")),
        hyperlinks=tuple(r.url for r in wire.relations or () if r.rel == "Hyperlink"),
        fields=dict(f),
    )


# ---------------------------------------------------------------- client


class RetryGate:
    """The earliest moment Azure DevOps allows the next call, shared by every client of one
    organisation and token in this process (the outbox worker's and the admin routes')."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_allowed_at = 0.0
        """``time.monotonic()`` moment."""

    def allowed_at(self) -> float:
        """``time.monotonic()`` moment before which nothing may be sent."""
        with self.lock:
            return self.next_allowed_at

    def hold_off(self, seconds: float) -> None:
        with self.lock:
            self.next_allowed_at = max(self.next_allowed_at, time.monotonic() + seconds)


_GATES: dict[tuple[str, str], RetryGate] = {}
_GATES_LOCK = threading.Lock()


def shared_gate(org_url: str, pat: str) -> RetryGate:
    """The process-wide gate of one organisation and token."""
    key = (org_url.rstrip("/").casefold(), pat)
    with _GATES_LOCK:
        return _GATES.setdefault(key, RetryGate())


def forget_retry_after() -> None:
    """Drop every pending Retry-After of this process (tests that reset the service)."""
    with _GATES_LOCK:
        _GATES.clear()


def identities_url(org_url: str) -> str:
    """Identities live on the organisation's VSSPS host in Azure DevOps Services."""
    url = httpx.URL(org_url.rstrip("/"))
    host = url.host
    if host == "dev.azure.com":
        host = "vssps.dev.azure.com"
    elif host.endswith(".visualstudio.com") and ".vssps." not in host:
        host = host.replace(".visualstudio.com", ".vssps.visualstudio.com")
    return str(url.copy_with(host=host)).rstrip("/") + "/_apis/identities"


def _area_paths(node: _AreaNode, parent: str = "") -> list[str]:
    path = f"{parent}\\{node.name}" if parent else node.name
    return [path, *(p for child in node.children for p in _area_paths(child, path))]


class AzureDevOpsClient:
    """Work items in one Azure DevOps project. One instance per worker thread."""

    def __init__(
        self,
        org_url: str,
        project: str,
        pat: str,
        *,
        timeout: float = 10,
        transport: httpx.BaseTransport | None = None,
        gate: RetryGate | None = None,
    ) -> None:
        self._org = org_url.rstrip("/")
        self._project = project
        self._base = f"{self._org}/{quote(project, safe='')}/_apis/wit"
        self._http = httpx.Client(
            auth=httpx.BasicAuth("", pat),
            headers={"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress"},
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._gate = gate if gate is not None else RetryGate()
        self.last_retry_after: float | None = None
        """The last ``Retry-After`` seen, on any answer (seconds)."""

    # -- Retry-After bookkeeping

    @property
    def next_allowed_at(self) -> float:
        """``time.monotonic()`` moment before which the client sends nothing."""
        return self._gate.allowed_at()

    def delay_before_next_call(self) -> float:
        """Seconds left until Azure DevOps allows the next call (0 when free to go)."""
        return max(0.0, self.next_allowed_at - time.monotonic())

    def wait_for_allowance(self, max_wait: float | None = None) -> float:
        """Sleep out a pending ``Retry-After`` (at most ``max_wait``); returns the time slept."""
        delay = self.delay_before_next_call()
        if max_wait is not None:
            delay = min(delay, max_wait)
        if delay > 0:
            time.sleep(delay)
        return delay

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AzureDevOpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations

    def create_work_item(self, spec: WorkItemSpec) -> WorkItem:
        """Create the work item; on ``DevOpsRetryable`` look it up by tag before retrying."""
        url = f"{self._base}/workitems/${quote(spec.work_item_type, safe='')}"
        response = self._send("POST", url, patch=build_create_patch(spec), maybe_applied=True)
        return _to_work_item(self._decode(response, _WorkItemWire))

    def create_or_adopt(self, spec: WorkItemSpec) -> WorkItem:
        """Create unless a work item with the ticket's tag already exists (safe to repeat)."""
        if spec.tag_with_ticket:
            found = self.find_by_tag(ticket_tag(spec.ticket_number))
        else:
            found = self.find_by_title_prefix(title_mark(spec.ticket_number))
        if found:
            return self.get_work_item(min(found))
        return self.create_work_item(spec)

    def update_work_item(self, work_item_id: int, rev: int, ops: Sequence[PatchOp]) -> WorkItem:
        """Apply ``ops`` only if the item is still at ``rev``; else ``RevisionConflict``."""
        url = f"{self._base}/workitems/{work_item_id}"
        response = self._send(
            "PATCH",
            url,
            patch=build_update_patch(rev, ops),
            maybe_applied=True,
            conflict=(work_item_id, rev),
        )
        return _to_work_item(self._decode(response, _WorkItemWire))

    def add_comment(self, work_item_id: int, rev: int, text: str) -> WorkItem:
        """A discussion comment, written through the documented ``System.History`` field."""
        return self.update_work_item(
            work_item_id, rev, [PatchOp("add", "/fields/System.History", text_to_html(text))]
        )

    def add_tag(self, work_item_id: int, rev: int, tag: str) -> WorkItem:
        """Add one tag, keeping the others (the whole list is written with ``replace``)."""
        current = self.get_work_item(work_item_id)
        if current.rev != rev:
            raise RevisionConflict(
                work_item_id, rev, 412, f"work item is at rev {current.rev}, not {rev}"
            )
        if tag.strip().casefold() in (t.casefold() for t in current.tags):
            return current
        tags = join_tags([*current.tags, tag])
        return self.update_work_item(
            work_item_id, rev, [PatchOp("replace", "/fields/System.Tags", tags)]
        )

    def set_state(
        self, work_item_id: int, rev: int, state: str, *, comment: str | None = None
    ) -> WorkItem:
        ops = [PatchOp("replace", "/fields/System.State", state)]
        if comment:
            ops.append(PatchOp("add", "/fields/System.History", text_to_html(comment)))
        return self.update_work_item(work_item_id, rev, ops)

    def get_work_item(self, work_item_id: int) -> WorkItem:
        url = f"{self._base}/workitems/{work_item_id}"
        response = self._send("GET", url, params={"$expand": "all"})
        return _to_work_item(self._decode(response, _WorkItemWire))

    def find_by_tag(self, tag: str) -> list[int]:
        """Ids of the project's work items carrying ``tag`` (WIQL ``CONTAINS``), ascending."""
        query = (
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
            f"AND [System.Tags] CONTAINS {wiql_literal(tag.strip())} ORDER BY [System.Id]"
        )
        response = self._send("POST", f"{self._base}/wiql", json_body={"query": query})
        return sorted(ref.id for ref in self._decode(response, _WiqlResult).work_items)

    def find_by_title_prefix(self, prefix: str) -> list[int]:
        """Ids of the project's work items whose title starts with ``prefix``, ascending (WIQL
        ``CONTAINS`` finds candidates, the titles decide)."""
        query = (
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
            f"AND [System.Title] CONTAINS {wiql_literal(prefix)} ORDER BY [System.Id]"
        )
        response = self._send("POST", f"{self._base}/wiql", json_body={"query": query})
        ids = [ref.id for ref in self._decode(response, _WiqlResult).work_items]
        items = self.get_work_items(ids) if ids else []
        return sorted(i.id for i in items if (i.title or "").startswith(prefix))

    def get_work_items(self, ids: Sequence[int]) -> list[WorkItem]:
        """Many work items, ``BATCH_SIZE`` per ``workitemsbatch`` call; missing ones are left out."""
        found: list[WorkItem] = []
        unique = sorted(set(ids))
        for start in range(0, len(unique), BATCH_SIZE):
            body = {
                "ids": unique[start : start + BATCH_SIZE],
                "fields": ["System.Id", "System.Rev", "System.State", "System.Title",
                           "System.Tags", "System.WorkItemType", "System.AreaPath"],
                "errorPolicy": "omit",
            }  # fmt: skip
            response = self._send("POST", f"{self._base}/workitemsbatch", json_body=body)
            batch = self._decode(response, _WorkItemList)
            found.extend(_to_work_item(w) for w in batch.value if w is not None)
        return found

    # -- the project

    def describe_project(self, work_item_type: str | None = None) -> ProjectInfo:
        """Process, types (with the handoff type's states), categories and area paths.

        ``work_item_type`` overrides the type handoffs create; by default it is the Bug
        category's default type, else the Requirement category's (Basic: Issue).
        """
        project = self._decode(
            self._send(
                "GET",
                f"{self._org}/_apis/projects/{quote(self._project, safe='')}",
                params={"includeCapabilities": "true"},
            ),
            _ProjectWire,
        )
        template = project.capabilities.process_template if project.capabilities else None
        types = self._decode(self._send("GET", f"{self._base}/workitemtypes"), _TypeList).value
        categories = {
            c.reference_name: c.default_type.name
            for c in self._decode(
                self._send("GET", f"{self._base}/workitemtypecategories"), _CategoryList
            ).value
            if c.default_type is not None
        }
        chosen = (
            work_item_type or categories.get(BUG_CATEGORY) or categories.get(REQUIREMENT_CATEGORY)
        )
        known = {t.name.casefold(): t for t in types if not t.is_disabled}
        if not chosen or chosen.casefold() not in known:
            raise DevOpsFinal(
                404, f"work item type {chosen!r} does not exist in project {project.name}"
            )
        chosen = known[chosen.casefold()].name
        infos = tuple(
            WorkItemTypeInfo(
                name=t.name,
                fields=frozenset(f.reference_name for f in t.fields),
                states=self.states_of(t.name) if t.name == chosen else (),
            )
            for t in known.values()
        )
        root = self._decode(
            self._send("GET", f"{self._base}/classificationnodes/Areas", params={"$depth": "20"}),
            _AreaNode,
        )
        return ProjectInfo(
            project=project.name,
            process=template.template_name if template else "",
            types=infos,
            categories=categories,
            areas=tuple(_area_paths(root)),
            work_item_type=chosen,
        )

    def states_of(self, work_item_type: str) -> tuple[WorkItemState, ...]:
        """The type's states in board order, each with its category."""
        url = f"{self._base}/workitemtypes/{quote(work_item_type, safe='')}/states"
        return tuple(self._decode(self._send("GET", url), _StateList).value)

    def identity_exists(self, name: str) -> bool:
        """Whether the organisation knows a user by this e-mail or account name."""
        params = {"searchFilter": "General", "filterValue": name, "queryMembership": "None"}
        response = self._send("GET", identities_url(self._org), params=params)
        return self._decode(response, _IdentityList).count > 0

    # -- transport

    def _send(
        self,
        method: str,
        url: str,
        *,
        patch: Sequence[PatchOp] | None = None,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        maybe_applied: bool = False,
        conflict: tuple[int, int] | None = None,
    ) -> httpx.Response:
        delay = self.delay_before_next_call()
        if delay > 0:
            raise DevOpsRetryable("Retry-After still pending; nothing sent", retry_after=delay)
        headers: dict[str, str] = {}
        content: bytes | None = None
        if patch is not None:
            headers["Content-Type"] = JSON_PATCH
            content = msgspec.json.encode(list(patch))
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            content = msgspec.json.encode(json_body)
        query = {**(params or {}), "api-version": API_VERSION}
        try:
            response = self._http.request(
                method, url, params=query, content=content, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise DevOpsRetryable(f"cannot connect: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise DevOpsRetryable(f"timed out: {exc!r}", maybe_applied=maybe_applied) from exc
        except httpx.TransportError as exc:
            raise DevOpsRetryable(f"transport error: {exc!r}", maybe_applied=maybe_applied) from exc
        retry_after = self._note_retry_after(response)
        status = response.status_code
        if status == 429:
            raise DevOpsRetryable(_message(response), retry_after=retry_after)
        if status >= 500:
            raise DevOpsRetryable(
                _message(response), retry_after=retry_after, maybe_applied=maybe_applied
            )
        if conflict is not None and status in (409, 412):
            raise RevisionConflict(conflict[0], conflict[1], status, _message(response))
        if status == 203:
            # Without a working PAT the service answers a sign-in page instead of 401.
            raise DevOpsFinal(status, "sign-in page instead of data: the PAT was not accepted")
        if status >= 300:
            raise DevOpsFinal(status, _message(response))
        return response

    def _note_retry_after(self, response: httpx.Response) -> float | None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            self.last_retry_after = retry_after
            self._gate.hold_off(retry_after)
        return retry_after

    @staticmethod
    def _decode(response: httpx.Response, shape: type[_T]) -> _T:
        if "json" not in response.headers.get("Content-Type", ""):
            raise DevOpsFinal(response.status_code, "answer is not JSON")
        try:
            return msgspec.json.decode(response.content, type=shape)
        except msgspec.ValidationError as exc:
            raise DevOpsFinal(response.status_code, f"unexpected answer: {exc}") from exc


def _message(response: httpx.Response) -> str:
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except msgspec.DecodeError:
        return response.reason_phrase or f"HTTP {response.status_code}"
    parts = [p for p in (body.type_key, body.message) if p]
    return ": ".join(parts) or response.reason_phrase or f"HTTP {response.status_code}"
