"""Routes of task work: categories, checklist templates, ticking a task's checklist, overdue."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from api.deps import ActorDep, ContainerDep, require
from tickets.core import services
from tickets.core.schemas import TicketView
from tickets.core.views import ticket_view
from tickets.tasks import categories, checklists
from tickets.tasks.deadlines import overdue_tasks
from tickets.tasks.schemas import (
    CategoryIn,
    CategoryList,
    CategoryView,
    ChecklistTemplateIn,
    ChecklistTemplateList,
    ChecklistTemplateView,
    ChecklistTick,
    OverdueList,
)


@get("/api/categories", sync_to_thread=True, tags=["tasks"])
def list_categories(container: ContainerDep, actor: ActorDep) -> CategoryList:
    """The task category dictionary, each with the ticket types it belongs to."""
    with container.db.read() as s:
        return CategoryList(items=categories.list_categories(s))


@post("/api/categories", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["tasks"])
def add_category(
    container: ContainerDep, actor: ActorDep, data: JSONBody[CategoryIn]
) -> CategoryView:
    """A new category (curators and admins); 409 `duplicate-category` when it exists."""
    require(actor, "curator")
    with container.db.transaction() as s:
        row = categories.add_category(s, data)
        return CategoryView(row.id, row.name, list(row.types), False)


@get("/api/checklists", sync_to_thread=True, tags=["tasks"])
def list_checklists(container: ContainerDep, actor: ActorDep) -> ChecklistTemplateList:
    """Checklist templates per task category."""
    with container.db.read() as s:
        return ChecklistTemplateList(items=checklists.list_templates(s))


@post("/api/checklists", status_code=HTTP_201_CREATED, sync_to_thread=True, tags=["tasks"])
def create_checklist(
    container: ContainerDep, actor: ActorDep, data: JSONBody[ChecklistTemplateIn]
) -> ChecklistTemplateView:
    """A category's checklist; the category joins the dictionary when new. 409
    `checklist-exists` when it has one already (PUT replaces it)."""
    require(actor, "curator")
    with container.db.transaction() as s:
        return checklists.create_template(s, data)


@put("/api/checklists", sync_to_thread=True, tags=["tasks"])
def replace_checklist(
    container: ContainerDep, actor: ActorDep, data: JSONBody[ChecklistTemplateIn]
) -> ChecklistTemplateView:
    """Replace a category's checklist (added when new); tasks made earlier keep theirs."""
    require(actor, "curator")
    with container.db.transaction() as s:
        return checklists.replace_template(s, data)


@post(
    "/api/tickets/{ticket_id:int}/checklist/{item_id:int}",
    status_code=200,
    sync_to_thread=True,
    tags=["tickets"],
)
def tick_checklist_item(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    item_id: FromPath[int],
    data: JSONBody[ChecklistTick],
) -> TicketView:
    """Tick or untick one item of the task's checklist (recorded in its history)."""
    with container.db.transaction() as s:
        ticket = services.get_ticket(s, ticket_id, for_update=True)
        checklists.tick(s, actor, ticket, item_id, data.done)
        return ticket_view(s, ticket_id)


@get("/api/tickets/overdue", sync_to_thread=True, tags=["tickets"])
def list_overdue(
    container: ContainerDep,
    actor: ActorDep,
    lead_consultant_id: Annotated[int | None, QueryParameter(ge=1)] = None,
) -> OverdueList:
    """Open tasks past their `due_to`, the longest overdue first."""
    with container.db.read() as s:
        items = overdue_tasks(s, services.utcnow(), lead_consultant_id=lead_consultant_id)
    return OverdueList(items=items)


ROUTES = [
    list_categories,
    add_category,
    list_checklists,
    create_checklist,
    replace_checklist,
    tick_checklist_item,
    list_overdue,
]
