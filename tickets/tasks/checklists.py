"""Checklists: a template per category, copied onto each new task; ticked item by item."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tickets.core.db import utcnow
from tickets.core.orm import TicketRow, UserRow
from tickets.core.schemas import Actor, ChecklistItemView
from tickets.core.services import record
from tickets.domain.errors import Conflict, NotFound
from tickets.tasks.categories import ensure_category, find_category
from tickets.tasks.orm import ChecklistTemplateItemRow, TaskCategoryRow, TicketChecklistItemRow
from tickets.tasks.schemas import (
    ChecklistTemplateIn,
    ChecklistTemplateItemView,
    ChecklistTemplateView,
)


def _template_items(session: Session, category_id: int) -> list[ChecklistTemplateItemRow]:
    return list(
        session.scalars(
            select(ChecklistTemplateItemRow)
            .where(ChecklistTemplateItemRow.category_id == category_id)
            .order_by(ChecklistTemplateItemRow.position, ChecklistTemplateItemRow.id)
        )
    )


def template_view(session: Session, category: TaskCategoryRow) -> ChecklistTemplateView:
    return ChecklistTemplateView(
        category=category.name,
        types=list(category.types or []),
        items=[
            ChecklistTemplateItemView(i.text, i.required)
            for i in _template_items(session, category.id)
        ],
    )


def list_templates(session: Session) -> list[ChecklistTemplateView]:
    ids = set(session.scalars(select(ChecklistTemplateItemRow.category_id).distinct()))
    rows = session.scalars(
        select(TaskCategoryRow).where(TaskCategoryRow.id.in_(ids)).order_by(TaskCategoryRow.name)
    )
    return [template_view(session, r) for r in rows]


def _replace_items(session: Session, category: TaskCategoryRow, data: ChecklistTemplateIn) -> None:
    session.execute(
        delete(ChecklistTemplateItemRow).where(ChecklistTemplateItemRow.category_id == category.id)
    )
    for position, item in enumerate(data.items):
        session.add(
            ChecklistTemplateItemRow(
                category_id=category.id,
                position=position,
                text=item.text.strip(),
                required=item.required,
            )
        )
    session.flush()


def create_template(session: Session, data: ChecklistTemplateIn) -> ChecklistTemplateView:
    """A new category checklist (409 when the category has one: PUT replaces it)."""
    existing = find_category(session, data.category)
    if existing is not None and _template_items(session, existing.id):
        raise Conflict(
            f"category {data.category!r} already has a checklist; PUT replaces it",
            slug="checklist-exists",
        )
    category = ensure_category(session, data.category, data.types)
    _replace_items(session, category, data)
    return template_view(session, category)


def replace_template(session: Session, data: ChecklistTemplateIn) -> ChecklistTemplateView:
    """The category's checklist replaced (the category added when new). Tasks made earlier
    keep the copy they got."""
    category = ensure_category(session, data.category, data.types)
    _replace_items(session, category, data)
    return template_view(session, category)


def copy_template(session: Session, ticket: TicketRow) -> int:
    """Give a task its category's checklist, unless it already has one; the number copied."""
    if not ticket.category:
        return 0
    category = find_category(session, ticket.category)
    if category is None or ticket_items(session, ticket.id):
        return 0
    items = _template_items(session, category.id)
    for item in items:
        session.add(
            TicketChecklistItemRow(
                ticket_id=ticket.id, position=item.position, text=item.text, required=item.required
            )
        )
    session.flush()
    return len(items)


def ticket_items(session: Session, ticket_id: int) -> list[TicketChecklistItemRow]:
    return list(
        session.scalars(
            select(TicketChecklistItemRow)
            .where(TicketChecklistItemRow.ticket_id == ticket_id)
            .order_by(TicketChecklistItemRow.position, TicketChecklistItemRow.id)
        )
    )


def checklist_view(session: Session, ticket_id: int) -> list[ChecklistItemView]:
    items = ticket_items(session, ticket_id)
    user_ids = {i.done_by_id for i in items if i.done_by_id is not None}
    names = (
        {
            user_id: name
            for user_id, name in session.execute(
                select(UserRow.id, UserRow.name).where(UserRow.id.in_(user_ids))
            )
        }
        if user_ids
        else {}
    )
    return [
        ChecklistItemView(
            id=i.id,
            text=i.text,
            required=i.required,
            done=i.done,
            done_by=i.done_by_id,
            done_at=i.done_at,
            done_by_name=names.get(i.done_by_id) if i.done_by_id is not None else None,
        )
        for i in items
    ]


def tick(
    session: Session, actor: Actor, ticket: TicketRow, item_id: int, done: bool
) -> TicketChecklistItemRow:
    """Tick (or untick) one item of the task's checklist, recorded in its history."""
    item = session.get(TicketChecklistItemRow, item_id)
    if item is None or item.ticket_id != ticket.id:
        raise NotFound("checklist item", item_id)
    if item.done == done:
        return item
    item.done = done
    item.done_by_id = actor.user_id if done else None
    item.done_at = utcnow() if done else None
    record(session, ticket, actor, "checklist_done" if done else "checklist_undone", new=item.text)
    session.flush()
    return item


def open_required(session: Session, ticket_id: int) -> list[TicketChecklistItemRow]:
    return [i for i in ticket_items(session, ticket_id) if i.required and not i.done]
