"""Structs shared by the services, the API and the UI (inputs and views of tickets)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from email_validator import EmailNotValidError, validate_email
from msgspec import UNSET, Meta, UnsetType

from tickets.core import examples as ex
from tickets.domain.errors import ValidationFailed

Title = Annotated[
    str, Meta(min_length=1, max_length=500, examples=["Faktura nie wysyła się do KSeF: błąd 401"])
]
Text = Annotated[str, Meta(max_length=200_000)]
Short = Annotated[str, Meta(max_length=200)]
Priority = Literal["krytyczny", "wysoki", "normalny", "niski"]
UrlList = Annotated[list[Annotated[str, Meta(min_length=1, max_length=2000)]], Meta(max_length=100)]
Words = Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=100)]
Timestamp = Annotated[
    dt.datetime,
    Meta(
        description="RFC 3339, with its offset (`2026-03-01T10:00:00Z`).",
        extra_json_schema={
            "format": "date-time",
            "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$",
        },
    ),
]
"""A point in time a request sets; msgspec alone would document it as any string."""
EmailAddress = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=320,
        description="One e-mail address: no display name, no list, no line break.",
        extra_json_schema={"format": "email"},
    ),
]
"""An address field; the Struct's `__post_init__` checks it with `one_address` (422)."""


def one_address(field: str, value: str) -> str:
    """`value` as one deliverable-looking e-mail address (normalised), or `ValidationFailed`
    naming the field: a list (`a@x.pl, b@y.pl`) would mail them all, CR/LF would forge headers."""
    try:
        # No DNS look-up (no network here, and a slow resolver must not stall a request);
        # `test_environment` admits the RFC 2606 `.test` domain, refused otherwise.
        checked = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationFailed(field, f"not one e-mail address ({exc})") from None
    return checked.normalized


def is_one_address(value: str) -> bool:
    try:
        one_address("address", value)
    except ValidationFailed:
        return False
    return True


def check_addresses(struct: msgspec.Struct, *fields: str) -> None:
    """Validate and normalise the address fields of a decoded Struct, in place."""
    for field in fields:
        value = getattr(struct, field)
        if isinstance(value, str):
            setattr(struct, field, one_address(field, value))


class Actor(msgspec.Struct, frozen=True):
    """Who does something: a user, or the system (worker, import, DevOps)."""

    user_id: int | None
    name: str
    role: str = "system"

    @property
    def label(self) -> str:
        return f"user:{self.user_id}" if self.user_id is not None else self.name


SYSTEM = Actor(None, "system")


class TicketCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new ticket. Only definition and title are required."""

    definition: Annotated[str, Meta(min_length=1, max_length=16)] = "ZS"
    title: Title
    description: Annotated[Text, ex.DESCRIPTION] = ""
    solution: Annotated[Text, ex.SOLUTION] = ""
    client_id: int | None = None
    partner_id: int | None = None
    contact_id: int | None = None
    contact_email: EmailAddress | None = None
    contact_name: Short | None = None
    contact_phone: Annotated[str, Meta(max_length=64)] | None = None
    licence: Annotated[Short, ex.LICENCE] | None = None
    lead_consultant_id: int | None = None
    product: Annotated[Short, ex.PRODUCT] = ""
    version: Annotated[Short, ex.VERSION] = ""
    module: Annotated[Short, ex.MODULE] = ""
    area: Short = ""
    interface: Short = ""
    type: Annotated[Short, ex.TICKET_TYPE] = ""
    submission_mode: Short = ""
    priority: Priority = "normalny"
    reported_at: Timestamp | None = None
    notes: Text = ""
    keywords: Annotated[Words, ex.KEYWORDS] = msgspec.field(default_factory=list)
    kb_links: Annotated[UrlList, ex.KB_LINKS] = msgspec.field(default_factory=list)
    parent_id: int | None = None
    category: Annotated[str, Meta(max_length=100)] = ""
    """A task category from the dictionary; its checklist is copied onto the task."""
    due_from: Timestamp | None = None
    due_to: Timestamp | None = None
    location: Annotated[str, Meta(max_length=300)] = ""
    billable: bool = True
    paid: bool = False
    project_id: int | None = None

    def __post_init__(self) -> None:
        check_addresses(self, "contact_email")


class TicketPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Partial update: only the fields present change."""

    title: Title | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    solution: Text | UnsetType = UNSET
    client_id: int | UnsetType | None = UNSET
    partner_id: int | UnsetType | None = UNSET
    contact_id: int | UnsetType | None = UNSET
    contact_email: EmailAddress | UnsetType | None = UNSET
    contact_name: Short | UnsetType | None = UNSET
    contact_phone: Annotated[str, Meta(max_length=64)] | UnsetType | None = UNSET
    licence: Short | UnsetType | None = UNSET
    lead_consultant_id: int | UnsetType | None = UNSET
    product: Short | UnsetType = UNSET
    version: Short | UnsetType = UNSET
    module: Short | UnsetType = UNSET
    area: Short | UnsetType = UNSET
    interface: Short | UnsetType = UNSET
    type: Short | UnsetType = UNSET
    submission_mode: Short | UnsetType = UNSET
    priority: Priority | UnsetType = UNSET
    reported_at: Timestamp | UnsetType = UNSET
    notes: Text | UnsetType = UNSET
    keywords: Words | UnsetType = UNSET
    kb_links: UrlList | UnsetType = UNSET
    verified: bool | UnsetType = UNSET
    category: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    due_from: Timestamp | UnsetType | None = UNSET
    due_to: Timestamp | UnsetType | None = UNSET
    location: Annotated[str, Meta(max_length=300)] | UnsetType = UNSET
    billable: bool | UnsetType = UNSET
    paid: bool | UnsetType = UNSET
    project_id: int | UnsetType | None = UNSET

    def __post_init__(self) -> None:
        check_addresses(self, "contact_email")

    def present(self) -> dict[str, object]:
        return {
            f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not UNSET
        }


PATCHABLE_FIELDS = tuple(TicketPatch.__struct_fields__)


class TransitionRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: Annotated[str, Meta(min_length=1, max_length=32)]
    note: Text | None = None
    resolution: Literal["resolved", "rejected"] | None = None
    solution: Text | None = None
    force: bool = False
    """Complete a parent whose children are still open; needs a `note` (kept in history)."""


class PhoneEventCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A phone call being registered by a consultant (a ZT event)."""

    title: Title
    description: Annotated[Text, ex.DESCRIPTION] = ""
    licence: Annotated[Short, ex.LICENCE] | None = None
    client_id: int | None = None
    contact_id: int | None = None
    contact_name: Short | None = None
    contact_email: EmailAddress | None = None
    contact_phone: Short | None = None
    product: Annotated[Short, ex.PRODUCT] = ""
    version: Annotated[Short, ex.VERSION] = ""
    module: Annotated[Short, ex.MODULE] = ""
    area: Short = ""
    interface: Short = ""
    type: Annotated[Short, ex.TICKET_TYPE] = ""
    priority: Priority = "normalny"
    notes: Text = ""
    keywords: Words = msgspec.field(default_factory=list)
    kb_links: UrlList = msgspec.field(default_factory=list)
    call_started_at: Timestamp | None = None
    """When the consultant picked up (the call form's stopwatch started): the time before
    registering counts. A moment in the future, or over 12 hours ago, is taken as now."""

    def __post_init__(self) -> None:
        check_addresses(self, "contact_email")


class CloseEventRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    create_task: bool = False
    definition: Annotated[str, Meta(min_length=1, max_length=16)] = "ZS"
    priority: Priority | None = None
    solution: Text | None = None
    note: Text | None = None


class ManualTimeEntry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    minutes: Annotated[int, Meta(gt=0, le=24 * 60)]
    started_at: Timestamp | None = None
    note: Text = ""
    billable: bool = True


class ReuseRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    source_ticket_id: int


class HistoryEntry(msgspec.Struct):
    at: dt.datetime
    actor: str
    action: str
    field: str | None
    old_value: Any  # any JSON value (Any, not object: msgspec documents Any)
    new_value: Any
    note: str


class MessageView(msgspec.Struct):
    id: int
    at: dt.datetime
    direction: str
    sender: str
    subject: str
    body_text: str
    body_html: str | None
    attach_reason: str
    spam_score: float | None = None
    """Intake's spam score of a mail threaded onto the ticket."""
    automatic: bool = False
    """A bounce, complaint, read receipt or auto-reply: shown, never acted on."""
    sender_flag: str = ""
    """E.g. "nadawca spoza zgłoszenia": the sender is not a participant of the ticket."""


class TimeEntryView(msgspec.Struct):
    id: int
    user_id: int
    started_at: dt.datetime
    stopped_at: dt.datetime | None
    seconds: int | None
    manual: bool
    note: str
    billable: bool = True


class AttachmentView(msgspec.Struct):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime


class TicketLink(msgspec.Struct):
    id: int
    number: ex.TicketNumber
    title: ex.TicketTitle
    state: ex.State


AssignmentState = Literal["pending", "confirmed", "rejected"]


class AssignmentView(msgspec.Struct, kw_only=True):
    """A ticket's current assignment and the assignee's answer."""

    id: int
    state: AssignmentState
    assignee_id: int
    assignee_name: str
    assigned_by_id: int | None
    assigned_by_name: str | None
    assigned_at: dt.datetime
    answered_at: dt.datetime | None
    answered_via: str
    """link, mail or console; empty while pending."""
    reason: str


class ChecklistItemView(msgspec.Struct):
    """One item of a task's checklist (`tickets.tasks.checklists`)."""

    id: int
    text: str
    required: bool
    done: bool
    done_by: int | None
    """The user who ticked it."""
    done_at: dt.datetime | None
    done_by_name: str | None = None


class ChildrenProgress(msgspec.Struct):
    """A parent's children: how many are closed (completed or cancelled) of how many."""

    done: int
    total: int


class TicketView(msgspec.Struct):
    """A ticket as every reader sees it, warnings included."""

    id: ex.TicketId
    number: ex.TicketNumber
    definition: str
    kind: str
    state: ex.State
    state_label: str
    resolution: str | None
    title: ex.TicketTitle
    description: ex.Description
    solution: ex.Solution
    client_id: int | None
    client_name: ex.ClientName | None
    partner_id: int | None
    partner_name: str | None
    contact_id: int | None
    contact_email: str | None
    licence: ex.Licence | None
    lead_consultant_id: int | None
    product: ex.Product
    version: ex.Version
    module: ex.Module
    area: str
    interface: str
    type: ex.TicketType
    submission_mode: str
    priority: str
    reported_at: dt.datetime
    completed_at: dt.datetime | None
    notes: str
    keywords: ex.Keywords
    kb_links: ex.KbLinks
    verified: bool
    reuse_count: int
    parent: TicketLink | None
    children: list[TicketLink]
    allowed_transitions: list[str]
    warnings: list[str]
    devops_work_item_id: int | None
    devops_url: str | None
    devops_state: str | None
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    time_total_s: int = 0
    messages: list[MessageView] = msgspec.field(default_factory=list)
    history: list[HistoryEntry] = msgspec.field(default_factory=list)
    time_entries: list[TimeEntryView] = msgspec.field(default_factory=list)
    attachments: list[AttachmentView] = msgspec.field(default_factory=list)
    category: str = ""
    due_from: dt.datetime | None = None
    due_to: dt.datetime | None = None
    overdue: bool = False
    """An open task past `due_to`."""
    location: str = ""
    billable: bool = True
    paid: bool = False
    checklist: list[ChecklistItemView] = msgspec.field(default_factory=list)
    children_progress: ChildrenProgress | None = None
    """Of a parent: how many children are closed, of how many."""
    contact_name: str | None = None
    """The caller's name as noted on the ticket, else the contact's."""
    contact_phone: str | None = None
    second_line_id: int | None = None
    """The module's production person consulted or handed the ticket (second line)."""
    second_line_name: str | None = None
    project_id: int | None = None
    """The project (of a campaign) the ticket belongs to."""
    project_name: str | None = None
    assignment: AssignmentView | None = None
    """The current assignment: pending until the assignee confirms or rejects it."""


class TicketSummary(msgspec.Struct):
    id: ex.TicketId
    number: ex.TicketNumber
    definition: str
    state: ex.State
    resolution: str | None
    title: ex.TicketTitle
    client_id: int | None
    product: ex.Product
    module: ex.Module
    priority: str
    reported_at: dt.datetime
    completed_at: dt.datetime | None
    warnings: list[str]
    state_label: str = ""
    lead_consultant_id: int | None = None
    second_line_id: int | None = None
    overdue: bool = False
    """Open past its priority's target time (`tickets.console.worklist.TARGET_HOURS`)."""
    project_id: int | None = None
