"""The task category dictionary: each category belongs to some ticket types, or to all."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.domain.errors import Conflict, ValidationFailed
from tickets.tasks.orm import ChecklistTemplateItemRow, TaskCategoryRow
from tickets.tasks.schemas import CategoryIn, CategoryView


def find_category(session: Session, name: str) -> TaskCategoryRow | None:
    return session.scalar(select(TaskCategoryRow).where(TaskCategoryRow.name == name.strip()))


def _check_types(session: Session, types: list[str], field: str) -> list[str]:
    allowed = defs.dictionary_values(session, "type")
    for i, code in enumerate(types):
        if allowed and code not in allowed:
            raise ValidationFailed(f"{field}[{i}]", f"{code!r} is not a ticket type")
    return list(dict.fromkeys(types))


def add_category(session: Session, data: CategoryIn) -> TaskCategoryRow:
    if find_category(session, data.name) is not None:
        raise Conflict(f"category {data.name!r} already exists", slug="duplicate-category")
    row = TaskCategoryRow(name=data.name.strip(), types=_check_types(session, data.types, "types"))
    session.add(row)
    session.flush()
    return row


def ensure_category(session: Session, name: str, types: list[str] | None) -> TaskCategoryRow:
    """The category of that name, added to the dictionary when new; `types` (when given)
    replace its types."""
    row = find_category(session, name)
    if row is None:
        return add_category(session, CategoryIn(name=name, types=types or []))
    if types is not None:
        row.types = _check_types(session, types, "types")
    return row


def list_categories(session: Session) -> list[CategoryView]:
    with_items = set(session.scalars(select(ChecklistTemplateItemRow.category_id).distinct()))
    rows = session.scalars(select(TaskCategoryRow).order_by(TaskCategoryRow.name))
    return [CategoryView(r.id, r.name, list(r.types or []), r.id in with_items) for r in rows]


def check_category(session: Session, category: str, ticket_type: str) -> TaskCategoryRow | None:
    """The category a task names, which must exist and belong to the task's type (422)."""
    if not category:
        return None
    row = find_category(session, category)
    if row is None or not row.active:
        raise ValidationFailed("category", f"{category!r} is not in the category dictionary")
    if row.types and ticket_type not in row.types:
        raise ValidationFailed(
            "category",
            f"{category!r} belongs to the types {', '.join(row.types)}, not {ticket_type!r}",
        )
    return row
