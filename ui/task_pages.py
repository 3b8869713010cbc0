"""Ticking a task's checklist from the ticket page (the form twin of the JSON route)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Response, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect

from api.deps import ActorDep, ContainerDep
from tickets.core import services
from tickets.tasks.checklists import tick


class TickForm(msgspec.Struct, kw_only=True):
    done: Literal["1", "0"]


@post("/tickets/{ticket_id:int}/checklist/{item_id:int}", sync_to_thread=True, status_code=303)
def ticket_checklist_tick(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    item_id: FromPath[int],
    data: URLEncodedBody[TickForm],
) -> Response[Any]:
    with container.db.transaction() as s:
        ticket = services.get_ticket(s, ticket_id, for_update=True)
        tick(s, actor, ticket, item_id, data.done == "1")
    return Redirect(f"/tickets/{ticket_id}#checklist", status_code=303)


PAGES = [ticket_checklist_tick]
