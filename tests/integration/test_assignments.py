"""Assignments answered by the assignee, on SQLite and PostgreSQL: assigning someone else
opens a pending assignment, the assignee alone confirms or rejects it once, and a rejection
returns the ticket to the queue and tells the assigner (notice and mail job)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.integration.assignment_helpers import add_people
from tickets.assignments.answers import (
    AssignmentAnswered,
    AssignmentSuperseded,
    answer_by_link,
    answer_current,
)
from tickets.core.assignments import AssignmentRow
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketMessageRow
from tickets.core.outbox import OutboxJobRow as Job
from tickets.core.schemas import Actor, TicketCreate, TicketPatch
from tickets.core.services import create_ticket, update_ticket, utcnow
from tickets.core.views import ticket_view
from tickets.domain.errors import PermissionDenied
from tickets.notices.orm import NoticeRow


def _people(db: Database) -> tuple[Actor, Actor, Actor]:
    people = add_people(db, "ania", "marek")
    return people["kierownik"].actor, people["ania"].actor, people["marek"].actor


def _assigned_ticket(db: Database, by: Actor, to: Actor) -> int:
    with db.transaction() as s:
        ticket = create_ticket(s, by, TicketCreate(title="Błąd KSeF przy wysyłce faktury",
                                                   lead_consultant_id=to.user_id))  # fmt: skip
        return ticket.id


def test_assigning_someone_else_waits_for_their_answer(db: Database) -> None:
    boss, ania, _ = _people(db)
    ticket_id = _assigned_ticket(db, boss, ania)
    with db.read() as s:
        view = ticket_view(s, ticket_id)
    assert view.assignment is not None
    assert (view.assignment.state, view.assignment.assignee_name) == ("pending", ania.name)
    assert view.assignment.assigned_by_name == boss.name
    # Taking a ticket oneself needs no confirmation.
    with db.transaction() as s:
        own = create_ticket(s, ania, TicketCreate(title="Moje własne"))
        assert ticket_view(s, own.id).assignment is None


def test_the_assignee_confirms_once_and_nobody_else_may(db: Database) -> None:
    boss, ania, marek = _people(db)
    ticket_id = _assigned_ticket(db, boss, ania)
    with db.transaction() as s, pytest.raises(PermissionDenied):
        answer_current(s, marek, ticket_id, "confirmed", "", utcnow())
    with db.transaction() as s:
        answer_current(s, ania, ticket_id, "confirmed", "", utcnow())
    with db.transaction() as s:  # the same answer again changes nothing
        answer_current(s, ania, ticket_id, "confirmed", "", utcnow())
    with db.transaction() as s, pytest.raises(AssignmentAnswered):
        answer_current(s, ania, ticket_id, "rejected", "jednak nie", utcnow())
    with db.read() as s:
        view = ticket_view(s, ticket_id)
        assert view.assignment is not None and view.assignment.state == "confirmed"
        assert view.assignment.answered_via == "console"
        assert view.lead_consultant_id == ania.user_id
        notes = [(m.direction, m.subject) for m in view.messages]
        assert notes == [("note", "Przydział potwierdzony")]
        lines = [h.note for h in view.history if h.action == "assignment_confirmed"]
        assert lines == ["Ania Konsultant potwierdził(a) przydział zgłoszenia"]


def test_a_rejection_returns_the_ticket_to_the_queue_and_tells_the_assigner(
    db: Database,
) -> None:
    boss, ania, _ = _people(db)
    ticket_id = _assigned_ticket(db, boss, ania)
    with db.transaction() as s:
        answer_current(s, ania, ticket_id, "rejected", "Jestem na urlopie do piątku", utcnow())
    with db.read() as s:
        view = ticket_view(s, ticket_id)
        assert view.lead_consultant_id is None
        assert view.assignment is not None and view.assignment.state == "rejected"
        assert view.assignment.reason == "Jestem na urlopie do piątku"
        (line,) = [h.note for h in view.history if h.action == "assignment_rejected"]
        assert "wróciło do kolejki" in line and "Jestem na urlopie do piątku" in line
        notices = s.scalars(select(NoticeRow).where(NoticeRow.event == "assignment_rejected"))
        assert [(n.user_id, n.title.split(":")[0]) for n in notices] == [
            (boss.user_id, "Odrzucono przydział zgłoszenia")
        ]
        jobs = s.scalars(select(Job).where(Job.kind == "mail.notify_user")).all()
        told = [(j.payload["user_id"], j.payload["reason"]) for j in jobs]
        assert (boss.user_id, "assignment_rejected") in told
        assert (ania.user_id, "assignment_rejected") not in told


def test_an_answer_to_a_superseded_assignment_is_refused(db: Database) -> None:
    boss, ania, marek = _people(db)
    ticket_id = _assigned_ticket(db, boss, ania)
    with db.transaction() as s:
        update_ticket(s, boss, ticket_id, TicketPatch(lead_consultant_id=marek.user_id))
    with db.transaction() as s, pytest.raises(PermissionDenied):
        answer_current(s, ania, ticket_id, "rejected", "", utcnow())  # it is Marek's now
    with db.transaction() as s:
        answer_current(s, marek, ticket_id, "confirmed", "", utcnow())
    with db.read() as s:
        view = ticket_view(s, ticket_id)
        assert view.assignment is not None
        assert (view.assignment.assignee_id, view.assignment.state) == (marek.user_id, "confirmed")
        # Ania's earlier assignment can no longer be answered by her link either.
        first = s.scalar(select(AssignmentRow.id).where(AssignmentRow.assignee_id == ania.user_id))
    with db.transaction() as s, pytest.raises(AssignmentSuperseded):
        answer_by_link(s, int(first or 0), "rejected", utcnow())
    with db.read() as s:
        assert s.scalar(select(TicketMessageRow.id).where(
            TicketMessageRow.subject == "Przydział odrzucony")) is None  # fmt: skip
        assert not s.scalars(select(TicketHistoryRow).where(
            TicketHistoryRow.action == "assignment_rejected")).all()  # fmt: skip
