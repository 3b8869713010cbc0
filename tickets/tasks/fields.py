"""A task's own fields on a ticket: its deadline and its category (a hook of the ticket core)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tickets.domain.errors import ValidationFailed
from tickets.tasks.categories import check_category
from tickets.tasks.deadlines import check_deadline


def check_task_fields(
    session: Session, values: dict[str, Any], ticket_type: str, kind: str
) -> None:
    """The deadline runs forward; only a task has a category, one of its type's."""
    check_deadline(values.get("due_from"), values.get("due_to"))
    if values.get("category"):
        if kind != "task":
            raise ValidationFailed("category", "only a task has a category")
        check_category(session, values["category"], ticket_type)
