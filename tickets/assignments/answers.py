"""Answering an assignment: confirmed or rejected, once, by the assignee alone. The answer is
a message and a history line of the ticket; a rejection returns the ticket to the queue
(no lead consultant) and the assigner hears of it through the notification matrix (the
dispatcher reads the `assignment_rejected` history line)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy.orm import Session

from tickets.assignments.links import Answer
from tickets.core.assignments import AssignmentRow, current_assignment
from tickets.core.orm import TicketRow, UserRow
from tickets.core.schemas import Actor
from tickets.core.services import add_staff_message, get_ticket, record
from tickets.domain.errors import Conflict, NotFound, PermissionDenied

SUBJECTS: Final = {
    "confirmed": "Przydział potwierdzony",
    "rejected": "Przydział odrzucony",
}


class AssignmentSuperseded(Conflict):
    """The ticket was given to someone else (or taken back) since this assignment."""

    def __init__(self, assignment_id: int) -> None:
        self.assignment_id = assignment_id
        super().__init__(
            f"assignment {assignment_id} is no longer the ticket's current one",
            slug="assignment-superseded",
        )


class AssignmentAnswered(Conflict):
    """The assignment already carries the other answer; the first one stands."""

    def __init__(self, assignment_id: int, state: str) -> None:
        self.assignment_id = assignment_id
        self.state = state
        super().__init__(
            f"assignment {assignment_id} is already {state}", slug="assignment-answered"
        )


def _history_note(answer: Answer, name: str, reason: str) -> str:
    if answer == "confirmed":
        return f"{name} potwierdził(a) przydział zgłoszenia"
    note = f"{name} odrzucił(a) przydział zgłoszenia; zgłoszenie wróciło do kolejki"
    return f"{note}. Powód: {reason}" if reason else note


def still_to_answer(
    session: Session, row: AssignmentRow, ticket: TicketRow, answer: Answer
) -> bool:
    """True when `answer` may still be recorded, False when it already is; AssignmentAnswered
    (the other answer stands) or AssignmentSuperseded (the ticket went elsewhere) otherwise."""
    if row.state == answer:
        return False
    if row.state != "pending":
        raise AssignmentAnswered(row.id, row.state)
    current = current_assignment(session, ticket.id)
    if current is None or current.id != row.id or ticket.lead_consultant_id != row.assignee_id:
        raise AssignmentSuperseded(row.id)
    return True


def answer_assignment(
    session: Session,
    assignment_id: int,
    answer: Answer,
    *,
    user_id: int | None,
    via: str,
    now: dt.datetime,
    reason: str = "",
    with_message: bool = True,
) -> AssignmentRow:
    """Record the assignee's answer. The same answer again changes nothing (a link clicked
    twice); the other answer after the first, or an answer to a superseded assignment, is a
    Conflict. `with_message` False: the caller already put the answer on the timeline (the
    reply mail itself)."""
    row = session.get(AssignmentRow, assignment_id, with_for_update=True)
    if row is None:
        raise NotFound("assignment", assignment_id)
    if user_id != row.assignee_id:
        raise PermissionDenied("only the assignee answers an assignment")
    ticket = get_ticket(session, row.ticket_id, for_update=True)
    if not still_to_answer(session, row, ticket, answer):
        return row
    user = session.get(UserRow, row.assignee_id)
    name = user.name if user is not None else f"user {row.assignee_id}"
    actor = Actor(row.assignee_id, name, user.role if user is not None else "consultant")
    reason = reason.strip()[:2000]
    row.state, row.answered_at, row.answered_via, row.reason = answer, now, via, reason
    if with_message:
        subject = SUBJECTS[answer]
        add_staff_message(
            session, ticket, actor, subject, reason or subject, f"assignment_{answer}"
        )
    record(session, ticket, actor, f"assignment_{answer}", new=via,
           note=_history_note(answer, name, reason))  # fmt: skip
    if answer == "rejected":
        record(session, ticket, actor, "field", field="lead_consultant_id",
               old=ticket.lead_consultant_id, new=None)  # fmt: skip
        ticket.lead_consultant_id = None
    ticket.updated_at = now
    session.flush()
    return row


def answer_current(
    session: Session, actor: Actor, ticket_id: int, answer: Answer, reason: str, now: dt.datetime
) -> AssignmentRow:
    """The console's answer: to the ticket's current assignment, by its assignee."""
    get_ticket(session, ticket_id)
    row = current_assignment(session, ticket_id)
    if row is None:
        raise Conflict("the ticket has no assignment to answer", slug="no-assignment")
    return answer_assignment(session, row.id, answer, user_id=actor.user_id, via="console",
                             now=now, reason=reason)  # fmt: skip


def assignment_and_ticket(session: Session, assignment_id: int) -> tuple[AssignmentRow, TicketRow]:
    """An assignment with its ticket (a link's page shows both), or NotFound."""
    row = session.get(AssignmentRow, assignment_id)
    if row is None:
        raise NotFound("assignment", assignment_id)
    return row, get_ticket(session, row.ticket_id)


def answer_by_link(
    session: Session, assignment_id: int, answer: Answer, now: dt.datetime, reason: str = ""
) -> AssignmentRow:
    """A signed link's answer: the signature stands for the assignee (no login)."""
    row, _ = assignment_and_ticket(session, assignment_id)
    return answer_assignment(session, row.id, answer, user_id=row.assignee_id, via="link",
                             now=now, reason=reason)  # fmt: skip
