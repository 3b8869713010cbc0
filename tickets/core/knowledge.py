"""What counts as knowledge: a ticket completed with a solution that answered it.

Search, similar tickets, reuse and the weekly report read only these. A ticket is knowledge
when it is completed, its solution is not blank, and it was closed as an answer: resolution
`resolved` or `rejected` ("we will not do it" is an answer too), or no resolution at all for a
phone event (events carry none) that was not turned into a task. A phone event closed with
*Utwórz zadanie* handed the problem over; the task it became is knowledge once it is solved.
A cancelled ticket is not completed, so never knowledge.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from tickets.core.orm import TicketRow

ANSWER_RESOLUTIONS: Final = ("resolved", "rejected")
_BLANK: Final = " \t\r\n"


def closed_as_answer() -> ColumnElement[bool]:
    """Completed as an answer (resolved, rejected, or an event not handed over to a task)."""
    task = aliased(TicketRow)
    return and_(
        TicketRow.state == "completed",
        or_(
            TicketRow.resolution.in_(ANSWER_RESOLUTIONS),
            and_(
                TicketRow.resolution.is_(None),
                ~exists().where(task.parent_id == TicketRow.id),
            ),
        ),
    )


def has_solution() -> ColumnElement[bool]:
    return func.length(func.trim(func.coalesce(TicketRow.solution, ""), _BLANK)) > 0


def is_knowledge() -> ColumnElement[bool]:
    """The SQL condition of a knowledge ticket (see the module's docstring)."""
    return and_(closed_as_answer(), has_solution())


def knowledge_ids(session: Session, ids: list[int]) -> set[int]:
    """Which of these tickets are knowledge."""
    if not ids:
        return set()
    return set(session.scalars(select(TicketRow.id).where(TicketRow.id.in_(ids), is_knowledge())))
