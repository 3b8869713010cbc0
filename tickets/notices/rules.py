"""The notification matrix: events × recipients × channels, editable by an administrator.

The default matrix is what Sedno did before it had one (the assignee and the lead hear of
their tickets by mail) plus a notice in the console for every user-facing cell; the contact's
state mail comes from each definition's former `notify_states` list (migration 0012 and
`seed_rules` carry it over), so nothing a desk configured is lost.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.db import utcnow
from tickets.domain.errors import ValidationFailed
from tickets.notices.orm import NotificationMatrixRow, NotificationRuleRow

Event = Literal[
    "created", "assigned", "state", "reply", "handoff_returned", "consultation",
    "assignment_rejected",
]  # fmt: skip
Recipient = Literal["lead", "contact", "second_line", "watchers", "group", "assigner"]
Channel = Literal["notice", "email"]
EVENTS: Final = ("created", "assigned", "state", "reply", "handoff_returned", "consultation",
                 "assignment_rejected")  # fmt: skip
RECIPIENTS: Final = ("lead", "contact", "second_line", "watchers", "group", "assigner")
"""`assigner`: who gave the ticket its current assignment (told when it is rejected)."""
CHANNELS: Final = ("notice", "email")


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One cell: at `event` (and, for `state`, the state moved to) tell `recipient` by
    `channel`. Empty `state`/`definition` mean any."""

    event: Event
    recipient: Recipient
    channel: Channel
    state: Annotated[str, Meta(max_length=32)] = ""
    definition: Annotated[str, Meta(max_length=16)] = ""
    group: Annotated[str, Meta(max_length=100)] = ""
    """For `recipient: group`: the operators' planning group (as on the planner)."""


class RuleSet(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    rules: Annotated[list[Rule], Meta(max_length=2000)]


class RuleMatrix(msgspec.Struct, kw_only=True):
    """The matrix and its axes, for an editor."""

    rules: list[Rule]
    events: list[str]
    recipients: list[str]
    channels: list[str]


DEFAULT_RULES: Final = (
    Rule(event="assigned", recipient="lead", channel="email"),
    Rule(event="assigned", recipient="lead", channel="notice"),
    Rule(event="reply", recipient="lead", channel="notice"),
    Rule(event="handoff_returned", recipient="lead", channel="email"),
    Rule(event="handoff_returned", recipient="lead", channel="notice"),
    Rule(event="consultation", recipient="second_line", channel="email"),
    Rule(event="consultation", recipient="second_line", channel="notice"),
    Rule(event="consultation", recipient="lead", channel="notice"),
    Rule(event="assignment_rejected", recipient="assigner", channel="email"),
    Rule(event="assignment_rejected", recipient="assigner", channel="notice"),
)


def _row(rule: Rule) -> NotificationRuleRow:
    return NotificationRuleRow(
        event=rule.event,
        state=rule.state,
        definition=rule.definition.upper(),
        recipient=rule.recipient,
        group_name=rule.group,
        channel=rule.channel,
    )


def _rule(row: NotificationRuleRow) -> Rule:
    return Rule(
        event=row.event,  # type: ignore[arg-type]
        recipient=row.recipient,  # type: ignore[arg-type]
        channel=row.channel,  # type: ignore[arg-type]
        state=row.state,
        definition=row.definition,
        group=row.group_name,
    )


def default_rules(session: Session) -> list[Rule]:
    """The defaults, with each definition's former `notify_states` as contact mail."""
    rules = list(DEFAULT_RULES)
    for definition in defs.list_definitions(session):
        for state in definition.notify_states:
            rules.append(
                Rule(
                    event="state",
                    state=state,
                    definition=definition.code,
                    recipient="contact",
                    channel="email",
                )
            )
    return rules


def seed_rules(session: Session) -> None:
    """Write the default matrix once (a new installation, or one from before the matrix);
    an administrator's matrix, even an empty one, is never overwritten."""
    if session.get(NotificationMatrixRow, 1) is None:
        session.add(NotificationMatrixRow(id=1))
        session.add_all(_row(r) for r in default_rules(session))
        session.flush()


def get_rules(session: Session) -> RuleMatrix:
    rows = session.scalars(select(NotificationRuleRow).order_by(NotificationRuleRow.id))
    return RuleMatrix(
        rules=[_rule(r) for r in rows],
        events=list(EVENTS),
        recipients=list(RECIPIENTS),
        channels=list(CHANNELS),
    )


def _check(session: Session, rules: list[Rule]) -> None:
    codes = {d.code: d for d in defs.list_definitions(session)}
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        definition = codes.get(rule.definition.upper()) if rule.definition else None
        if rule.definition and definition is None:
            raise ValidationFailed(f"{where}.definition", f"no such definition: {rule.definition}")
        if rule.state and rule.event != "state":
            raise ValidationFailed(f"{where}.state", "a state is named only for the event state")
        if rule.state:
            known = definition.state_codes() if definition else {
                s for d in codes.values() for s in d.state_codes()
            }  # fmt: skip
            if rule.state not in known:
                raise ValidationFailed(f"{where}.state", f"no such state: {rule.state}")
        if rule.recipient == "contact" and (rule.event != "state" or rule.channel != "email"):
            # A contact has no console; their other mail (acknowledgements) is the intake's.
            raise ValidationFailed(
                f"{where}.recipient", "the contact is told only of state changes, by e-mail"
            )
        if (rule.recipient == "group") != bool(rule.group.strip()):
            raise ValidationFailed(f"{where}.group", "a group is named for recipient group only")


def put_rules(session: Session, rules: list[Rule], user_id: int | None) -> RuleMatrix:
    """Replace the whole matrix (duplicates collapse)."""
    _check(session, rules)
    matrix = session.get(NotificationMatrixRow, 1)
    if matrix is None:
        matrix = NotificationMatrixRow(id=1)
        session.add(matrix)
    matrix.updated_at, matrix.updated_by_id = utcnow(), user_id
    session.execute(delete(NotificationRuleRow))
    seen: set[tuple[str, ...]] = set()
    for rule in rules:
        row = _row(rule)
        key = (row.event, row.state, row.definition, row.recipient, row.group_name, row.channel)
        if key not in seen:
            seen.add(key)
            session.add(row)
    session.flush()
    return get_rules(session)


def matching(
    session: Session, event: str, *, definition: str, state: str = ""
) -> list[NotificationRuleRow]:
    """The cells that fire for this event on a ticket of `definition` (moved to `state`)."""
    rows = session.scalars(
        select(NotificationRuleRow).where(
            NotificationRuleRow.event == event,
            NotificationRuleRow.definition.in_(("", definition.upper())),
            NotificationRuleRow.state.in_(("", state)),
        )
    )
    return list(rows)


def wants(
    session: Session, event: str, recipient: str, channel: str, *, definition: str, state: str = ""
) -> bool:
    return any(
        r.recipient == recipient and r.channel == channel
        for r in matching(session, event, definition=definition, state=state)
    )


def lead_wants_mail(session: Session, event: str, definition: str) -> bool:
    """Whether the lead of a ticket of `definition` is to get mail of `event`."""
    return wants(session, event, "lead", "email", definition=definition)
