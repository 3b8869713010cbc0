"""Consulting the second line during analysis: the module's production person is asked early
(before any handoff), by mail and a notice, and answers in the ticket."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.orm import TicketRow, UserRow
from tickets.core.schemas import Actor
from tickets.core.services import add_staff_message, get_ticket, record, utcnow
from tickets.domain.errors import Conflict, PermissionDenied, ValidationFailed
from tickets.handoff.orm import DevOpsModuleRow
from tickets.notices.dispatch import dispatch

QUESTION_SUBJECT: Final = "Konsultacja drugiej linii — pytanie"
ANSWER_SUBJECT: Final = "Konsultacja drugiej linii — odpowiedź"
Question = Annotated[str, Meta(min_length=1, max_length=20_000)]


class ConsultRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    question: Question


class ConsultAnswer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    answer: Question


def second_line_of(session: Session, ticket: TicketRow) -> UserRow:
    """The module's second-line person (the DevOps module dictionary), or 422 naming `module`."""
    if not ticket.module:
        raise ValidationFailed("module", f"{ticket.number} has no module: set it first")
    module = session.scalar(
        select(DevOpsModuleRow).where(
            DevOpsModuleRow.module == ticket.module, DevOpsModuleRow.active.is_(True)
        )
    )
    user = session.get(UserRow, module.second_line_id) if module and module.second_line_id else None
    if user is None or not user.active:
        raise ValidationFailed(
            "module",
            f"module {ticket.module!r} has no second-line person (see /api/devops/modules)",
        )
    return user


def _open(session: Session, ticket: TicketRow) -> None:
    if ticket.state in defs.get_definition(session, ticket.definition_code).final_states:
        raise Conflict(f"{ticket.number} is closed", slug="ticket-closed")


def consult(session: Session, actor: Actor, ticket_id: int, question: str) -> TicketRow:
    """Ask the module's second line; they become the ticket's second line and are told."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    _open(session, ticket)
    person = second_line_of(session, ticket)
    if ticket.second_line_id != person.id:
        record(
            session, ticket, actor, "field", field="second_line_id",
            old=ticket.second_line_id, new=person.id,
        )  # fmt: skip
        ticket.second_line_id = person.id
    add_staff_message(session, ticket, actor, QUESTION_SUBJECT, question, "consultation")
    record(session, ticket, actor, "consultation", new=person.name, note=question)
    ticket.updated_at = utcnow()
    session.flush()
    dispatch(session, "consultation", ticket, actor_user_id=actor.user_id, body=question)
    return ticket


def answer_consultation(session: Session, actor: Actor, ticket_id: int, answer: str) -> TicketRow:
    """The second line's answer, as a message of the ticket; the lead consultant is told."""
    ticket = get_ticket(session, ticket_id, for_update=True)
    if ticket.second_line_id is None:
        raise Conflict(f"{ticket.number} has no consultation", slug="no-consultation")
    if actor.user_id != ticket.second_line_id and actor.role != "admin":
        raise PermissionDenied("only the ticket's second line answers its consultation")
    add_staff_message(session, ticket, actor, ANSWER_SUBJECT, answer, "consultation_answer")
    record(session, ticket, actor, "consultation_answer", note=answer)
    ticket.updated_at = utcnow()
    session.flush()
    dispatch(session, "consultation", ticket, actor_user_id=actor.user_id, body=answer)
    return ticket
