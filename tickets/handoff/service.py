"""Handoff to production: a ticket becomes an Azure DevOps work item, and its changes come back.

Requests and hooks only touch the database; every call to Azure DevOps runs in an outbox job:
`devops.create` (create the work item, or adopt the one a timed-out create left behind),
`devops.export` (a later state change of the ticket, as a comment, a tag and a mapped state)
and `devops.reconcile` (read the work items of open handoffs, for missed hooks).

Whatever Sedno learns about a work item - a hook, a read, the answer to its own update - goes
through `observe_work_item`, which applies it only when its revision is newer than the stored
one. The state is compared, not the event, so duplicated, late or missed hooks are harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Protocol, TypeVar

import msgspec
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.db import Database, utcnow
from tickets.core.orm import ClientRow, TicketRow, UserRow
from tickets.core.outbox import OutboxJob, OutboxJobRow, PermanentFailure, RetryLater, enqueue
from tickets.core.runtime import Runtime
from tickets.core.schemas import Actor
from tickets.core.services import (
    DEVOPS_ACTOR,
    DEVOPS_EXPORT_JOB,
    apply_transition,
    get_ticket,
    record,
)
from tickets.domain.errors import Conflict, InvalidTransition, ValidationFailed
from tickets.handoff.azure_devops import (
    AzureDevOpsClient,
    DevOpsFinal,
    DevOpsRetryable,
    PatchOp,
    ProjectInfo,
    RevisionConflict,
    StateCategory,
    WorkItem,
    WorkItemSpec,
    WorkItemTypeInfo,
    WorkItemUpdate,
    join_tags,
    shared_gate,
    text_to_html,
    title_mark,
)
from tickets.handoff.orm import DevOpsConfigRow, DevOpsHandoffRow, DevOpsModuleRow
from tickets.handoff.pause import StoredRetryGate
from tickets.notifications.service import notify_user

if TYPE_CHECKING:
    from tickets.core.settings import DevOpsSettings


class HandoffRuntime(Runtime, Protocol):
    """The handoff's needs: the process parts and the DevOps request timeout."""

    @property
    def devops_timeout_s(self) -> float: ...


log = logging.getLogger("sedno.devops")
_T = TypeVar("_T")

CREATE_JOB: Final = "devops.create"
EXPORT_JOB: Final = DEVOPS_EXPORT_JOB
RECONCILE_JOB: Final = "devops.reconcile"
REFRESH_JOB: Final = "devops.refresh"
"""Read one work item: its hook came without fields ("Resource details to send: Minimal")."""
PROJECT_KEY: Final = "project"
PROJECT_MAX_AGE_S: Final = 3600.0
"""How long the stored description of the project (types, states, areas) is trusted."""
RECONCILE_EVERY_S: Final = 300.0
HANDOFF_NOTE: Final = "W realizacji — przekazano na produkcję"
HANDOFF_FROM: Final = ("analysing", "in_progress")
MAPPING_KEY: Final = "state_mapping"
REOPENED: Final = "reopened"
"""Outbound pseudo-state: any move out of a final state."""


class HandoffDisabled(Conflict):
    """Azure DevOps is not configured (`SEDNO_DEVOPS_*`)."""

    def __init__(self) -> None:
        super().__init__(
            "handoff disabled: set SEDNO_DEVOPS_URL and SEDNO_DEVOPS_PROJECT",
            slug="handoff-disabled",
        )


# ---------------------------------------------------------------- configuration

StateName = Annotated[str, Meta(min_length=1, max_length=64)]
Tag = Annotated[str, Meta(max_length=100, pattern=r"^[^;,]*$")]


class InboundRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a work-item state (by name, or any state of a category) means for the ticket."""

    work_item_state: StateName | None = None
    work_item_category: StateCategory | None = None
    """Proposed, InProgress, Resolved, Completed or Removed: any process's states of it."""
    action: Literal["return", "note", "ignore"]
    """return: back to the lead consultant as in_progress; note: a history note; both notify."""
    note: Annotated[str, Meta(max_length=500)] = ""


class OutboundRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """What a ticket state (or `reopened`) does to the work item."""

    ticket_state: StateName
    work_item_state: StateName | None = None
    """A state by name (an admin's override); else the first state of `work_item_category`."""
    work_item_category: StateCategory | None = None
    tag: Tag = ""
    comment: Annotated[str, Meta(max_length=2000)] = ""


class StateMapping(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    inbound: list[InboundRule]
    outbound: list[OutboundRule]
    work_item_type: StateName | None = None
    """The type handoffs create; None = the Bug category's default, else the requirement
    category's (Basic: Issue)."""


class ModuleEntry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A module of the dictionary: its DevOps area path, price-list code, second-line person."""

    module: Annotated[str, Meta(min_length=1, max_length=200)]
    area_path: Annotated[str, Meta(min_length=1, max_length=400)]
    price_list_code: Annotated[str, Meta(max_length=64)] = ""
    second_line_id: int | None = None
    active: bool = True


DONE_NOTE: Final = "Produkcja zakończyła"
DEFAULT_MAPPING: Final = StateMapping(
    inbound=[
        InboundRule(work_item_category="Resolved", action="return", note=DONE_NOTE),
        InboundRule(work_item_category="Completed", action="return", note=DONE_NOTE),
        InboundRule(
            work_item_category="Removed", action="note", note="Produkcja usunęła element roboczy"
        ),
    ],
    outbound=[
        OutboundRule(
            ticket_state="completed",
            work_item_category="Completed",
            tag="sedno-zakonczone",
            comment="Zgłoszenie {number} zostało zakończone w Sedno.",
        ),
        OutboundRule(
            ticket_state="cancelled",
            work_item_category="Removed",
            tag="sedno-anulowane",
            comment="Zgłoszenie {number} zostało anulowane w Sedno.",
        ),
        OutboundRule(
            ticket_state=REOPENED,
            work_item_category="InProgress",
            tag="sedno-wznowione",
            comment="Zgłoszenie {number} zostało wznowione w Sedno.",
        ),
    ],
)
"""By state category, so that every process works (Basic has no Removed: a cancelled ticket
then sends its comment and tag only)."""

KNOWN_CATEGORIES: Final[dict[str, StateCategory]] = {
    "new": "Proposed", "approved": "Proposed", "to do": "Proposed", "proposed": "Proposed",
    "active": "InProgress", "committed": "InProgress", "doing": "InProgress",
    "in progress": "InProgress", "resolved": "Resolved", "closed": "Completed",
    "done": "Completed", "removed": "Removed",
}  # fmt: skip
"""The states of the four standard processes, for a project Sedno has not read yet."""


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").casefold() == (b or "").casefold()


def get_mapping(session: Session) -> StateMapping:
    row = session.get(DevOpsConfigRow, MAPPING_KEY)
    return DEFAULT_MAPPING if row is None else msgspec.convert(row.value, StateMapping)


def put_mapping(
    session: Session, mapping: StateMapping, project: ProjectInfo | None = None
) -> StateMapping:
    """Replace the state mappings (each state at most once per direction).

    With `project` (read from Azure DevOps just before), every state and the type must exist
    there; the error names the rule and the value.
    """
    for i, inbound in enumerate(mapping.inbound):
        if (inbound.work_item_state is None) == (inbound.work_item_category is None):
            raise ValidationFailed(
                f"inbound[{i}]", "give either work_item_state or work_item_category"
            )
    for i, outbound in enumerate(mapping.outbound):
        if outbound.work_item_state is not None and outbound.work_item_category is not None:
            raise ValidationFailed(
                f"outbound[{i}]", "give work_item_state or work_item_category, not both"
            )
    if project is not None:
        validate_mapping(mapping, project)
    for field, names in (
        (
            "inbound",
            [r.work_item_state or f"category:{r.work_item_category}" for r in mapping.inbound],
        ),
        ("outbound", [r.ticket_state for r in mapping.outbound]),
    ):
        folded = [n.casefold() for n in names]
        if len(set(folded)) != len(folded):
            raise ValidationFailed(field, "a state is mapped more than once")
    row = session.get(DevOpsConfigRow, MAPPING_KEY)
    value = msgspec.to_builtins(mapping)
    if row is None:
        session.add(DevOpsConfigRow(key=MAPPING_KEY, value=value))
    else:
        row.value = value
    session.flush()
    return mapping


def validate_mapping(mapping: StateMapping, project: ProjectInfo) -> None:
    """Every named state and the type exist in the project (422 naming the value)."""
    if mapping.work_item_type is not None:
        found = project.type_named(mapping.work_item_type)
        if found is None:
            names = ", ".join(t.name for t in project.types)
            raise ValidationFailed(
                "work_item_type",
                f"{mapping.work_item_type!r} is not a work item type of {project.project} "
                f"({names})",
            )
    target = project.handoff_type
    allowed = ", ".join(s.name for s in target.states)
    named = [("inbound", i, r.work_item_state) for i, r in enumerate(mapping.inbound)]
    named += [("outbound", i, r.work_item_state) for i, r in enumerate(mapping.outbound)]
    for direction, i, name in named:
        if name is not None and target.state_named(name) is None:
            raise ValidationFailed(
                f"{direction}[{i}].work_item_state",
                f"{name!r} is not a state of {target.name} in {project.project} ({allowed})",
            )


def validate_modules(
    session: Session,
    entries: list[ModuleEntry],
    project: ProjectInfo,
    identity_exists: Callable[[str], bool],
) -> list[ModuleEntry]:
    """Area paths exist in the project and second-line people are users of the organisation.

    Returns the entries with area paths spelled as the project spells them.
    """
    checked = []
    for i, entry in enumerate(entries):
        area = project.area_named(entry.area_path)
        if area is None:
            raise ValidationFailed(
                f"items[{i}].area_path",
                f"'{entry.area_path}' is not an area path of {project.project}",
            )
        if entry.second_line_id is not None:
            user = session.get(UserRow, entry.second_line_id)
            if user is not None and user.email and not identity_exists(user.email):
                raise ValidationFailed(
                    f"items[{i}].second_line_id",
                    f"{user.email!r} is not a user of the Azure DevOps organisation",
                )
        checked.append(msgspec.structs.replace(entry, area_path=area))
    return checked


def store_project(session: Session, project: ProjectInfo) -> None:
    """Keep what was read of the project, for hooks and pages that must not call out."""
    value = {"fetched_at": utcnow().isoformat(), "info": msgspec.to_builtins(project)}
    row = session.get(DevOpsConfigRow, PROJECT_KEY)
    if row is None:
        session.add(DevOpsConfigRow(key=PROJECT_KEY, value=value))
    else:
        row.value = value
    session.flush()


def forget_project(session: Session) -> None:
    row = session.get(DevOpsConfigRow, PROJECT_KEY)
    if row is not None:
        session.delete(row)
        session.flush()


def stored_project(session: Session, max_age_s: float | None = None) -> ProjectInfo | None:
    """The last description of the project, if any (and not older than `max_age_s`)."""
    row = session.get(DevOpsConfigRow, PROJECT_KEY)
    if row is None:
        return None
    if max_age_s is not None:
        fetched = dt.datetime.fromisoformat(str(row.value["fetched_at"]))
        if fetched.tzinfo is None:
            fetched = fetched.replace(tzinfo=dt.UTC)
        now = utcnow()
        now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        if (now - fetched).total_seconds() > max_age_s:
            return None
    return msgspec.convert(row.value["info"], ProjectInfo)


def state_category(project: ProjectInfo | None, state: str | None) -> str | None:
    """The category of a state of the handoff type (known names when the project is unread)."""
    if state is None:
        return None
    if project is not None:
        found = project.handoff_type.state_named(state)
        if found is not None:
            return found.category
    return KNOWN_CATEGORIES.get(state.casefold())


def inbound_rule(mapping: StateMapping, state: str, category: str | None) -> InboundRule | None:
    """A rule naming the state wins over one naming its category."""
    named = next((r for r in mapping.inbound if _same(r.work_item_state, state)), None)
    if named is not None or category is None:
        return named
    return next((r for r in mapping.inbound if r.work_item_category == category), None)


def outbound_state(rule: OutboundRule, item_type: WorkItemTypeInfo | None) -> str | None:
    """The work-item state a rule moves to on this type (None: no state in that category)."""
    if rule.work_item_state is not None or rule.work_item_category is None:
        return rule.work_item_state
    if item_type is None or not item_type.states:
        return None
    return item_type.state_in(rule.work_item_category)


def list_modules(session: Session) -> list[ModuleEntry]:
    rows = session.scalars(select(DevOpsModuleRow).order_by(DevOpsModuleRow.module))
    return [msgspec.convert(r, ModuleEntry, from_attributes=True) for r in rows]


def put_modules(session: Session, entries: list[ModuleEntry]) -> list[ModuleEntry]:
    """Replace the module dictionary."""
    seen: set[str] = set()
    for entry in entries:
        if entry.module.casefold() in seen:
            raise ValidationFailed("module", f"{entry.module!r} is listed twice")
        seen.add(entry.module.casefold())
        if entry.second_line_id is not None and session.get(UserRow, entry.second_line_id) is None:
            raise ValidationFailed("second_line_id", f"no such user: {entry.second_line_id}")
    existing = {r.module: r for r in session.scalars(select(DevOpsModuleRow))}
    for name, row in existing.items():
        if name not in {e.module for e in entries}:
            session.delete(row)
    for entry in entries:
        row = existing.get(entry.module) or DevOpsModuleRow(module=entry.module)
        row.area_path = entry.area_path
        row.price_list_code = entry.price_list_code
        row.second_line_id = entry.second_line_id
        row.active = entry.active
        session.add(row)
    session.flush()
    return list_modules(session)


def module_for(session: Session, ticket: TicketRow) -> DevOpsModuleRow:
    wanted = ticket.module.strip().casefold()
    for row in session.scalars(select(DevOpsModuleRow).where(DevOpsModuleRow.active)):
        if row.module.casefold() == wanted:
            return row
    raise ValidationFailed(
        "module", f"module {ticket.module!r} has no DevOps area path (see /api/devops/modules)"
    )


# ---------------------------------------------------------------- the handoff


def request_handoff(session: Session, actor: Actor, ticket_id: int) -> DevOpsHandoffRow:
    """Move the ticket to in_progress, assign the second line, queue the work item."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    handoff = session.get(DevOpsHandoffRow, ticket.id)
    if handoff is not None and handoff.status != "failed":
        where = f"work item #{handoff.work_item_id}" if handoff.work_item_id else "pending"
        raise Conflict(
            f"{ticket.number} is already handed off ({where})", slug="already-handed-off"
        )
    if ticket.state not in HANDOFF_FROM:
        raise InvalidTransition(ticket.state, "in_progress", HANDOFF_FROM)
    module = module_for(session, ticket)
    if ticket.state != "in_progress":
        definition = defs.get_definition(session, ticket.definition_code)
        apply_transition(session, actor, ticket, definition, "in_progress", note=HANDOFF_NOTE)
    record(session, ticket, actor, "handoff", new=module.area_path, note=HANDOFF_NOTE)
    if module.second_line_id is not None and module.second_line_id != ticket.second_line_id:
        record(
            session,
            ticket,
            actor,
            "field",
            field="second_line_id",
            old=ticket.second_line_id,
            new=module.second_line_id,
        )
        ticket.second_line_id = module.second_line_id
        notify_user(session, module.second_line_id, ticket.id, "handoff")
    if handoff is None:
        handoff = DevOpsHandoffRow(ticket_id=ticket.id)
        session.add(handoff)
    handoff.status, handoff.last_error = "pending", None
    handoff.requested_by_id, handoff.requested_at = actor.user_id, utcnow()
    ticket.updated_at = utcnow()
    enqueue(session, CREATE_JOB, {"ticket_id": ticket.id})
    session.flush()
    return handoff


def work_item_spec(session: Session, ticket: TicketRow, public_url: str) -> WorkItemSpec:
    """What production gets: the ticket's text, client, product and a link back."""
    module = module_for(session, ticket)
    client = session.get(ClientRow, ticket.client_id) if ticket.client_id else None
    second = session.get(UserRow, ticket.second_line_id) if ticket.second_line_id else None
    facts = [
        f"Zgłoszenie: {ticket.number}",
        f"Klient: {client.name}" if client else "",
        f"Licencja: {ticket.licence}" if ticket.licence else "",
        f"Produkt: {ticket.product} {ticket.version}".strip() if ticket.product else "",
        f"Moduł: {ticket.module}",
        f"Priorytet: {ticket.priority}",
    ]
    header = "\n".join(f for f in facts if f)
    steps = "\n\n".join(p for p in (ticket.description, ticket.notes) if p.strip())
    tags = ["sedno", *(t for t in (ticket.product, module.price_list_code) if t)]
    return WorkItemSpec(
        ticket_number=ticket.number,
        ticket_url=f"{public_url.rstrip('/')}/tickets/{ticket.id}",
        title=f"{title_mark(ticket.number)} {ticket.title}"[:255],
        description=f"{header}\n\n{ticket.description}",
        repro_steps=steps or ticket.title,
        area_path=module.area_path,
        priority=ticket.priority,  # type: ignore[arg-type]
        tags=tuple(t.replace(";", " ").replace(",", " ") for t in tags),
        assigned_to=second.email if second and second.email else None,
    )


def _handoff_of_item(session: Session, work_item_id: int) -> DevOpsHandoffRow | None:
    query = select(DevOpsHandoffRow).where(DevOpsHandoffRow.work_item_id == work_item_id)
    if session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update()
    return session.scalar(query)


def link_work_item(session: Session, ticket_id: int, item: WorkItem) -> DevOpsHandoffRow:
    """Store the created (or adopted) work item on the ticket."""
    handoff = session.get(DevOpsHandoffRow, ticket_id, with_for_update=True)
    ticket = get_ticket(session, ticket_id, for_update=True)
    if handoff is None:
        handoff = DevOpsHandoffRow(ticket_id=ticket_id)
        session.add(handoff)
    if handoff.work_item_id is not None:
        return handoff
    handoff.status, handoff.work_item_id, handoff.url = "linked", item.id, item.html_url
    handoff.rev, handoff.state, handoff.synced_at = item.rev, item.state, utcnow()
    handoff.last_error = None
    ticket.devops_work_item_id, ticket.devops_url = item.id, item.html_url
    ticket.devops_rev, ticket.devops_state = item.rev, item.state
    record(
        session,
        ticket,
        DEVOPS_ACTOR,
        "devops_linked",
        field="devops_work_item_id",
        new=item.id,
        note=f"Utworzono element roboczy #{item.id}",
    )
    if ticket.state != "in_progress":
        # Moved on while the work item was being created: tell production now.
        enqueue(
            session, EXPORT_JOB, {"ticket_id": ticket.id, "old": "in_progress", "new": ticket.state}
        )
    session.flush()
    return handoff


def apply_workitem_update(session: Session, update: WorkItemUpdate) -> str:
    """Apply a `workitem.updated` hook; see `observe_work_item` for the outcome.

    `test`: the subscription's Test sample, applied to nothing. `queued`: a hook without
    fields (Minimal) about a newer revision of one of ours; a job reads the work item.
    """
    if update.test_sample:
        return "test"
    if not update.complete:
        handoff = _handoff_of_item(session, update.work_item_id)
        if handoff is None:
            return "unknown"
        if update.rev <= handoff.rev:
            return "stale"
        enqueue(session, REFRESH_JOB, {"work_item_id": update.work_item_id})
        session.flush()
        return "queued"
    return observe_work_item(
        session, update.work_item_id, update.rev, update.state, changed_by=update.changed_by
    )


def observe_work_item(
    session: Session,
    work_item_id: int,
    rev: int,
    state: str | None,
    *,
    changed_by: str | None = None,
    own: bool = False,
) -> str:
    """Apply what a revision of a work item says, when it is newer than the stored one.

    Returns `unknown` (not ours), `stale` (duplicate or older), `updated` (same state),
    `echo` (a state Sedno set itself), `applied` (a new state, mapped to a ticket action).
    `own` marks Sedno's own update: stored, never mapped.
    """
    handoff = _handoff_of_item(session, work_item_id)
    if handoff is None:
        return "unknown"
    if rev <= handoff.rev:
        return "stale"
    ticket = get_ticket(session, handoff.ticket_id, for_update=True)
    handoff.rev, handoff.synced_at, ticket.devops_rev = rev, utcnow(), rev
    if state is None or _same(state, handoff.state):
        session.flush()
        return "updated"
    old, handoff.state, ticket.devops_state = handoff.state, state, state
    echo = own or _same(state, handoff.echo_state)
    if _same(state, handoff.echo_state):
        handoff.echo_state = None
    who = f"zmienił(a): {changed_by}" if changed_by else ""
    record(
        session, ticket, DEVOPS_ACTOR, "devops_state", field="devops_state", old=old, new=state,
        note=who,
    )  # fmt: skip
    if echo:
        session.flush()
        return "echo"
    category = state_category(stored_project(session), state)
    rule = inbound_rule(get_mapping(session), state, category)
    if rule is not None and rule.action != "ignore":
        _feedback(session, ticket, rule, state, work_item_id)
    session.flush()
    return "applied"


def _feedback(
    session: Session, ticket: TicketRow, rule: InboundRule, state: str, work_item_id: int
) -> None:
    note = rule.note or f"Produkcja: {state}"
    definition = defs.get_definition(session, ticket.definition_code)
    moves = rule.action == "return" and ticket.state != "in_progress"
    if moves and "in_progress" in definition.allowed_from(ticket.state):
        apply_transition(session, DEVOPS_ACTOR, ticket, definition, "in_progress", note=note)
    else:
        record(session, ticket, DEVOPS_ACTOR, "devops_feedback", new=state, note=note)
    ticket.updated_at = utcnow()
    if ticket.lead_consultant_id is not None:
        notify_user(
            session,
            ticket.lead_consultant_id,
            ticket.id,
            "devops_feedback",
            note=note,
            extra={"work_item_id": work_item_id, "work_item_state": state},
        )


# ---------------------------------------------------------------- state export


def outbound_rule(
    mapping: StateMapping, old: str | None, new: str, final_states: tuple[str, ...]
) -> OutboundRule | None:
    by_state = {r.ticket_state.casefold(): r for r in mapping.outbound}
    if old in final_states and new not in final_states and REOPENED in by_state:
        return by_state[REOPENED]
    return by_state.get(new.casefold())


def _already_applied(item: WorkItem, rule: OutboundRule, target: str | None) -> bool:
    tagged = not rule.tag or rule.tag.casefold() in (t.casefold() for t in item.tags)
    stated = not target or _same(item.state, target)
    return bool(rule.tag or target) and tagged and stated


def _devops_call(call: Callable[..., _T], *args: Any) -> _T:
    try:
        return call(*args)
    except DevOpsRetryable as exc:
        raise RetryLater(str(exc), exc.retry_after) from exc
    except RevisionConflict:
        raise
    except DevOpsFinal as exc:
        raise PermanentFailure(str(exc)) from exc


class Handlers:
    """The outbox jobs of the handoff, sharing one client (one per worker thread)."""

    def __init__(self, container: HandoffRuntime, devops: DevOpsSettings) -> None:
        self.db: Database = container.db
        self.public_url = container.settings.public_url
        self.devops = devops
        self.timeout_s = container.devops_timeout_s
        self._client: AzureDevOpsClient | None = None

    @property
    def client(self) -> AzureDevOpsClient:
        if self._client is None:
            self._client = make_client(self.devops, db=self.db, timeout_s=self.timeout_s)
        return self._client

    def project(self) -> ProjectInfo:
        """The project as read within the last hour, else read again and stored."""
        with self.db.read() as s:
            known = stored_project(s, PROJECT_MAX_AGE_S)
            override = get_mapping(s).work_item_type
        if known is not None and (override is None or _same(override, known.work_item_type)):
            return known
        info = _devops_call(self.client.describe_project, override)
        with self.db.transaction() as s:
            store_project(s, info)
        return info

    def create(self, job: OutboxJob) -> None:
        """Create the work item, or adopt the one an earlier timed-out attempt made."""
        ticket_id = int(job.payload["ticket_id"])
        with self.db.read() as s:
            handoff = s.get(DevOpsHandoffRow, ticket_id)
            if handoff is None or handoff.work_item_id is not None:
                return
            spec = work_item_spec(s, get_ticket(s, ticket_id), self.public_url)
        try:
            target = self.project().handoff_type
            spec = msgspec.structs.replace(
                spec,
                work_item_type=target.name,
                type_fields=target.fields,
                tag_with_ticket=self.devops.ticket_tag,
            )
            try:
                item = _devops_call(self.client.create_or_adopt, spec)
            except PermanentFailure:
                if not spec.assigned_to:
                    raise
                # An unknown assignee is a rule error; the second line is recorded in Sedno anyway.
                spec = msgspec.structs.replace(spec, assigned_to=None)
                item = _devops_call(self.client.create_or_adopt, spec)
        except PermanentFailure as exc:
            self._mark_failed(ticket_id, str(exc))
            raise
        with self.db.transaction() as s:
            link_work_item(s, ticket_id, item)

    def refresh(self, job: OutboxJob) -> None:
        """Read one work item whose hook came without its fields, and apply it."""
        work_item_id = int(job.payload["work_item_id"])
        item = _devops_call(self.client.get_work_item, work_item_id)
        with self.db.transaction() as s:
            observe_work_item(s, work_item_id, item.rev, item.state)

    def _mark_failed(self, ticket_id: int, error: str) -> None:
        with self.db.transaction() as s:
            handoff = s.get(DevOpsHandoffRow, ticket_id)
            if handoff is not None and handoff.work_item_id is None:
                handoff.status, handoff.last_error = "failed", error[:4000]
                note = f"Nie udało się utworzyć elementu roboczego: {error}"
                record(s, get_ticket(s, ticket_id), DEVOPS_ACTOR, "handoff_failed", note=note)

    def export(self, job: OutboxJob) -> None:
        """Comment, tag and mapped state for a later move of a handed-off ticket."""
        ticket_id, new = int(job.payload["ticket_id"]), str(job.payload["new"])
        old = job.payload.get("old")
        with self.db.read() as s:
            handoff = s.get(DevOpsHandoffRow, ticket_id)
            if handoff is None or handoff.work_item_id is None:
                if handoff is not None and handoff.status == "pending":
                    raise RetryLater("the work item is not created yet", 5.0)
                return
            ticket = get_ticket(s, ticket_id)
            definition = defs.get_definition(s, ticket.definition_code)
            rule = outbound_rule(get_mapping(s), old, new, definition.final_states)
            work_item_id, number, label = handoff.work_item_id, ticket.number, definition.label(new)
        if rule is None:
            return
        comment = (rule.comment or "Zgłoszenie {number}: {state}.").format(
            number=number, state=label
        )
        if job.payload.get("note"):
            comment += f"\n\n{job.payload['note']}"
        project = self.project()
        for _ in range(3):
            current = _devops_call(self.client.get_work_item, work_item_id)
            item_type = project.type_named(current.work_item_type) or project.handoff_type
            if not item_type.states:
                states = _devops_call(self.client.states_of, item_type.name)
                item_type = msgspec.structs.replace(item_type, states=states)
            target = outbound_state(rule, item_type)
            with self.db.transaction() as s:
                observe_work_item(s, work_item_id, current.rev, current.state)
                if target:
                    handoff = s.get(DevOpsHandoffRow, ticket_id)
                    if handoff is not None:
                        handoff.echo_state = target
            if _already_applied(current, rule, target):
                return
            try:
                updated = self._export_to(current, rule, target, comment)
            except RevisionConflict:
                continue  # production moved it meanwhile: read it again and decide again
            with self.db.transaction() as s:
                observe_work_item(s, work_item_id, updated.rev, updated.state, own=True)
                ticket = get_ticket(s, ticket_id)
                record(
                    s, ticket, DEVOPS_ACTOR, "devops_export", new=target,
                    note=f"Przekazano produkcji: {label}",
                )  # fmt: skip
                if target and not _same(updated.state, target):
                    record(
                        s, ticket, DEVOPS_ACTOR, "devops_export_state",
                        new=target, note=f"Azure DevOps nie przyjął stanu {target}",
                    )  # fmt: skip
            return
        raise RetryLater("the work item keeps changing", 1.0)

    def _export_to(
        self, current: WorkItem, rule: OutboundRule, target: str | None, comment: str
    ) -> WorkItem:
        """Comment, tag and state in one patch; when the process refuses the state (a rule
        error undoes the whole patch), the comment and tag go again without it."""
        ops = [PatchOp("add", "/fields/System.History", text_to_html(comment))]
        if rule.tag:
            ops.append(
                PatchOp("replace", "/fields/System.Tags", join_tags([*current.tags, rule.tag]))
            )
        if not target or _same(current.state, target):
            return _devops_call(self.client.update_work_item, current.id, current.rev, ops)
        with_state = [*ops, PatchOp("replace", "/fields/System.State", target)]
        try:
            return _devops_call(self.client.update_work_item, current.id, current.rev, with_state)
        except PermanentFailure as exc:
            log.warning("work item #%s refused state %r: %s", current.id, target, exc)
            with self.db.transaction() as s:
                forget_project(s)  # the process may have changed: read it again next time
            return _devops_call(self.client.update_work_item, current.id, current.rev, ops)

    def reconcile(self, job: OutboxJob) -> None:
        """The periodic reconciliation; schedules its next run."""
        try:
            reconcile_handoffs_with(self.db, self.client)
        finally:
            with self.db.transaction() as s:
                schedule_reconciliation(s, RECONCILE_EVERY_S, besides=job.id)


def make_client(
    devops: DevOpsSettings, *, db: Database | None = None, timeout_s: float = 10.0
) -> AzureDevOpsClient:
    """A client sharing Retry-After with every other client of the organisation: in this
    process, and through `db` (when given) with every other process."""
    gate = shared_gate(devops.url, devops.pat)
    return AzureDevOpsClient(
        devops.url,
        devops.project,
        devops.pat,
        timeout=timeout_s,
        gate=StoredRetryGate(db, devops.url, gate) if db is not None else gate,
    )


class DevOpsUnreachable(Exception):
    """Azure DevOps could not be asked (down, rate-limited, refused the token)."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def read_project(container: HandoffRuntime, work_item_type: str | None = None) -> ProjectInfo:
    """Read the project now (for an admin saving settings) and keep what was read."""
    if container.settings.devops is None:
        raise HandoffDisabled()
    if work_item_type is None:
        with container.db.read() as s:
            work_item_type = get_mapping(s).work_item_type
    timeout_s = container.devops_timeout_s
    with make_client(container.settings.devops, db=container.db, timeout_s=timeout_s) as client:
        try:
            info = client.describe_project(work_item_type)
        except DevOpsRetryable as exc:
            raise DevOpsUnreachable(str(exc), retryable=True, retry_after=exc.retry_after) from exc
        except DevOpsFinal as exc:
            raise DevOpsUnreachable(str(exc), retryable=False) from exc
    with container.db.transaction() as s:
        store_project(s, info)
    return info


def identity_checker(container: HandoffRuntime) -> Callable[[str], bool]:
    """`identity_exists` on a client of the configured organisation (for one request)."""
    assert container.settings.devops is not None
    devops = container.settings.devops

    def exists(name: str) -> bool:
        with make_client(devops, db=container.db) as client:
            try:
                return client.identity_exists(name)
            except DevOpsRetryable as exc:
                raise DevOpsUnreachable(
                    str(exc), retryable=True, retry_after=exc.retry_after
                ) from exc
            except DevOpsFinal as exc:
                raise DevOpsUnreachable(str(exc), retryable=False) from exc

    return exists


# ---------------------------------------------------------------- reconciliation


class ReconcileReport(msgspec.Struct, kw_only=True):
    checked: int = 0
    applied: int = 0
    """Work items whose newer revision was applied (a hook had been missed)."""
    errors: list[str] = msgspec.field(default_factory=list)
    retry_after: float | None = None
    """Azure DevOps asked to wait this many seconds (Retry-After); nothing more was read."""


def reconcile_handoffs(container: HandoffRuntime) -> ReconcileReport:
    """Read the work items of open handoffs and apply what the hooks missed."""
    if container.settings.devops is None:
        raise HandoffDisabled()
    timeout_s = container.devops_timeout_s
    with make_client(container.settings.devops, db=container.db, timeout_s=timeout_s) as client:
        return reconcile_handoffs_with(container.db, client)


def reconcile_handoffs_with(db: Database, client: AzureDevOpsClient) -> ReconcileReport:
    report = ReconcileReport()
    with db.read() as s:
        final = {d.code: d.final_states for d in defs.list_definitions(s)}
        rows = s.execute(
            select(DevOpsHandoffRow.work_item_id, TicketRow.definition_code, TicketRow.state)
            .join(TicketRow, TicketRow.id == DevOpsHandoffRow.ticket_id)
            .where(DevOpsHandoffRow.work_item_id.is_not(None))
            .order_by(DevOpsHandoffRow.ticket_id)
        ).all()
    open_items = [
        w for w, code, state in rows if w is not None and state not in final.get(code, ())
    ]
    try:
        items = client.get_work_items(open_items) if open_items else []
    except DevOpsRetryable as exc:
        report.errors.append(f"{exc}; stopped, will try later")
        report.retry_after = exc.retry_after
        return report
    except DevOpsFinal as exc:
        report.errors.append(str(exc))
        return report
    found = {i.id for i in items}
    report.errors.extend(f"#{i}: no such work item" for i in open_items if i not in found)
    for item in items:
        report.checked += 1
        with db.transaction() as s:
            if observe_work_item(s, item.id, item.rev, item.state) in ("applied", "echo"):
                report.applied += 1
    return report


def schedule_reconciliation(
    session: Session, delay_s: float, *, besides: int | None = None
) -> None:
    """Queue the next reconciliation unless one is already waiting."""
    query = select(OutboxJobRow.id).where(
        OutboxJobRow.kind == RECONCILE_JOB, OutboxJobRow.status == "pending"
    )
    if besides is not None:
        query = query.where(OutboxJobRow.id != besides)
    if session.scalar(query.limit(1)) is None:
        enqueue(session, RECONCILE_JOB, {}, delay_s=delay_s)


def register_outbox_handlers(
    container: HandoffRuntime, single: dict[str, Any], batch: dict[str, Any]
) -> None:
    """`devops.create`, `devops.export`, `devops.reconcile`; waiting while handoff is disabled."""
    devops = container.settings.devops
    if devops is None:

        def disabled(job: OutboxJob) -> None:
            raise RetryLater("handoff disabled: Azure DevOps is not configured", 3600.0)

        for kind in (CREATE_JOB, EXPORT_JOB, RECONCILE_JOB, REFRESH_JOB):
            single[kind] = disabled
        return
    handlers = Handlers(container, devops)
    single[CREATE_JOB] = handlers.create
    single[REFRESH_JOB] = handlers.refresh
    single[EXPORT_JOB] = handlers.export
    single[RECONCILE_JOB] = handlers.reconcile
    try:
        with container.db.transaction() as s:
            schedule_reconciliation(s, RECONCILE_EVERY_S)
    except Exception:  # the worker must start even on a database without the outbox yet
        log.exception("could not schedule the DevOps reconciliation")


__all__ = [
    "CREATE_JOB",
    "DEFAULT_MAPPING",
    "EXPORT_JOB",
    "RECONCILE_JOB",
    "HandoffDisabled",
    "ModuleEntry",
    "StateMapping",
    "apply_workitem_update",
    "reconcile_handoffs",
    "register_outbox_handlers",
    "request_handoff",
]
