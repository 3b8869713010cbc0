"""What the ticket core asks of the capabilities built on it, as typed hooks.

The core may not import a capability (the arrows run one way), yet creating, changing,
completing and showing a ticket involves some: the module dictionary (`tickets.handoff`),
the keyword dictionary (`search.keywords`),
projects (`tickets.projects`), task categories, checklists and completion rules
(`tickets.tasks`). The composition root (`api.bootstrap.install_hooks`) hands their functions
in as one `TicketHooks`; until it does, the core behaves as a desk without those capabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from tickets.core.orm import TicketRow
from tickets.core.schemas import Actor, ChecklistItemView
from tickets.domain.definitions import Definition

FieldCheck = Callable[[Session, dict[str, Any]], None]
"""Checks (and may respell) a ticket's field values in place; raises `ValidationFailed`."""

TaskFieldCheck = Callable[[Session, dict[str, Any], str, str], None]
"""Checks the values against the ticket's type and its definition's kind."""

KeywordCheck = Callable[[Session, Sequence[str], Sequence[str]], list[str]]
"""A person's keywords (`entered`) in the keyword dictionary's preferred forms; a word that is
no form of the dictionary and not one of `allowed` (what the ticket already carries) raises
`ValidationFailed` naming `keywords`."""


class CompletionCheck(Protocol):
    """Raises a domain error unless `ticket` may move to `target` now."""

    def __call__(
        self,
        session: Session,
        actor: Actor,
        ticket: TicketRow,
        definition: Definition,
        target: str,
        *,
        force: bool = False,
        note: str | None = None,
    ) -> None: ...


def _any_keywords(_session: Session, entered: Sequence[str], _allowed: Sequence[str]) -> list[str]:
    return list(entered)


def _no_checklist(_session: Session, _ticket_id: int) -> list[ChecklistItemView]:
    return []


def _no_project(_session: Session, _project_id: int) -> str | None:
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TicketHooks:
    field_checks: Sequence[FieldCheck] = ()
    """Dictionary fields kept by a capability (not applied to imported history)."""
    references: Mapping[str, type[Any]] = dataclasses.field(default_factory=dict)
    """Field → the table whose row it must name (`project_id` → projects)."""
    task_field_checks: Sequence[TaskFieldCheck] = ()
    categorised: Sequence[Callable[[Session, TicketRow], object]] = ()
    """Called after a ticket got a (new) category."""
    completion_checks: Sequence[CompletionCheck] = ()
    """Called before a user's move (`transition_ticket`), not before the system's."""
    keywords: KeywordCheck = _any_keywords
    """Applied to the keywords a person enters (not to imported history)."""
    checklist: Callable[[Session, int], list[ChecklistItemView]] = _no_checklist
    project_name: Callable[[Session, int], str | None] = _no_project


_installed = TicketHooks()


def install(hooks: TicketHooks) -> None:
    """Replace the hooks as a whole (so installing the same set again changes nothing)."""
    global _installed
    _installed = hooks


def current() -> TicketHooks:
    return _installed
