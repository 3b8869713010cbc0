"""What must be true before a task is completed: its required checklist items ticked and its
children closed (the latter may be overridden with `force` and a note, kept in the history)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tickets.core.children import open_children
from tickets.core.orm import TicketRow
from tickets.core.schemas import Actor
from tickets.core.services import record
from tickets.domain.definitions import Definition
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.tasks.checklists import open_required


class ChecklistIncomplete(Conflict):
    def __init__(self, items: list[str]) -> None:
        self.items = items
        super().__init__(
            "required checklist items are not done: " + "; ".join(items),
            slug="checklist-incomplete",
        )


class ChildrenOpen(Conflict):
    def __init__(self, numbers: list[str]) -> None:
        self.numbers = numbers
        super().__init__(
            "child tasks are still open: "
            + ", ".join(numbers)
            + " (complete them, or repeat with force and a note)",
            slug="children-open",
        )


def check_completion(
    session: Session,
    actor: Actor,
    ticket: TicketRow,
    definition: Definition,
    target: str,
    *,
    force: bool = False,
    note: str | None = None,
) -> None:
    """Raise unless the task may be completed now; a forced completion is recorded."""
    if definition.kind != "task" or target != "completed":
        return
    missing = open_required(session, ticket.id)
    if missing:
        raise ChecklistIncomplete([i.text for i in missing])
    children = open_children(session, ticket.id)
    if not children:
        return
    numbers = [c.number for c in children]
    if not force:
        raise ChildrenOpen(numbers)
    if not (note or "").strip():
        raise ValidationFailed("note", "a forced completion needs a note saying why")
    record(
        session,
        ticket,
        actor,
        "forced_completion",
        new=", ".join(numbers),
        note=(note or "").strip(),
    )
