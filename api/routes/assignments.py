"""Routes of assignments: the assignee confirms or rejects from the console."""

from __future__ import annotations

from typing import Any

from litestar import post
from litestar.params import FromPath, JSONBody

from api.deps import ActorDep, ContainerDep
from tickets.assignments.answers import answer_current
from tickets.assignments.schemas import AssignmentAnswer
from tickets.core.schemas import TicketView
from tickets.core.services import utcnow
from tickets.core.views import ticket_view


@post("/api/tickets/{ticket_id:int}/assignment/answer", status_code=200, sync_to_thread=True,
      tags=["tickets"])  # fmt: skip
def answer_assignment(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: JSONBody[AssignmentAnswer],
) -> TicketView:
    """Confirm or reject the ticket's current assignment (its assignee only, else 403); a
    rejection returns the ticket to the queue and tells the assigner."""
    with container.db.transaction() as s:
        answer_current(s, actor, ticket_id, data.answer, data.reason, utcnow())
        return ticket_view(s, ticket_id)


ROUTES: list[Any] = [answer_assignment]
