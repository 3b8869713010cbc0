"""Routes of notifications: the caller's notices, the rule matrix, consulting the second line."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.deps import ActorDep, ContainerDep, changed_ticket, require
from tickets.core.schemas import Actor, TicketView
from tickets.domain.errors import PermissionDenied
from tickets.notices import consult as consultation
from tickets.notices import inbox, rules


class UnreadCount(msgspec.Struct):
    unread: int


def _user(actor: Actor) -> int:
    if actor.user_id is None:
        raise PermissionDenied("notices belong to users; this token has none")
    return actor.user_id


@get("/api/notifications", sync_to_thread=True, tags=["notifications"])
def notices(
    container: ContainerDep,
    actor: ActorDep,
    unread: FromQuery[bool] = False,
    limit: Annotated[int, QueryParameter(ge=0, le=200)] = 50,
) -> inbox.NoticeList:
    """The caller's in-app notices, newest first, with the unread count (the bell)."""
    with container.db.read() as s:
        return inbox.list_notices(s, _user(actor), unread_only=unread, limit=limit)


@post("/api/notifications/{notice_id:int}/read", status_code=200, sync_to_thread=True,
      tags=["notifications"])  # fmt: skip
def notice_read(container: ContainerDep, actor: ActorDep, notice_id: FromPath[int]) -> UnreadCount:
    with container.db.transaction() as s:
        return UnreadCount(inbox.mark_read(s, _user(actor), notice_id))


@post("/api/notifications/read-all", status_code=200, sync_to_thread=True, tags=["notifications"])
def notices_read_all(container: ContainerDep, actor: ActorDep) -> UnreadCount:
    with container.db.transaction() as s:
        return UnreadCount(inbox.mark_read(s, _user(actor), None))


@get("/api/notifications/rules", sync_to_thread=True, tags=["notifications"])
def rules_show(container: ContainerDep, actor: ActorDep) -> rules.RuleMatrix:
    """Who is told at which event by which channel."""
    with container.db.read() as s:
        return rules.get_rules(s)


@put("/api/notifications/rules", sync_to_thread=True, tags=["notifications"])
def rules_replace(
    container: ContainerDep, actor: ActorDep, data: JSONBody[rules.RuleSet]
) -> rules.RuleMatrix:
    """Replace the whole matrix (administrators)."""
    require(actor, "admin")
    with container.db.transaction() as s:
        return rules.put_rules(s, data.rules, actor.user_id)


@post("/api/tickets/{ticket_id:int}/consult", status_code=200, sync_to_thread=True,
      tags=["tickets"])  # fmt: skip
def consult(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: JSONBody[consultation.ConsultRequest],
) -> TicketView:
    """Ask the module's second-line person (mail and a notice); they answer in the ticket."""
    return changed_ticket(
        container, ticket_id, lambda s: consultation.consult(s, actor, ticket_id, data.question)
    )


@post("/api/tickets/{ticket_id:int}/consult/answer", status_code=200, sync_to_thread=True,
      tags=["tickets"])  # fmt: skip
def consult_answer(
    container: ContainerDep,
    actor: ActorDep,
    ticket_id: FromPath[int],
    data: JSONBody[consultation.ConsultAnswer],
) -> TicketView:
    """The second line's answer, as a message of the ticket; the lead is told."""
    return changed_ticket(
        container,
        ticket_id,
        lambda s: consultation.answer_consultation(s, actor, ticket_id, data.answer),
    )


ROUTES = [notices, notice_read, notices_read_all, rules_show, rules_replace, consult,
          consult_answer]  # fmt: skip
