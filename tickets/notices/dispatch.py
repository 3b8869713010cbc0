"""Who hears of what: ticket events found in the flush, turned into notices and mail by the
matrix (`tickets.notices.rules`).

Events are read from what the services already write (history rows and incoming messages),
so no service needs to call this module once the composition root has called `listen()`: `created`, `assigned` (lead consultant set by
someone else), `state` (every transition), `handoff_returned` (a move or feedback from Azure
DevOps), `reply` (a person's mail threaded onto the ticket). `consultation` is raised by
`tickets.notices.consult`; `assignment_rejected` (the assignee refused the ticket) tells the
assigner. An `assigned` event also opens the assignment the assignee answers
(`tickets.core.assignments`). The one who caused an event is never told of it. The contact's
state mail is the `mail.notify_state` job queued here, with the transition, when the matrix
asks for it.
"""

from __future__ import annotations

from typing import Any, Final, cast

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.assignments import current_assignment, open_assignment
from tickets.core.orm import TicketHistoryRow, TicketMessageRow, TicketRow, TimeEntryRow
from tickets.core.outbox import enqueue
from tickets.core.services import NOTIFY_JOB
from tickets.notices.orm import NoticeRow
from tickets.notices.rules import matching, wants
from tickets.notifications.service import Reason, notify_user

DEVOPS_ACTOR_NAME: Final = "Azure DevOps"
TITLES: Final = {
    "created": "Nowe zgłoszenie",
    "assigned": "Przydzielono Ci zgłoszenie",
    "state": "Zmiana stanu",
    "reply": "Nowa wiadomość",
    "handoff_returned": "Produkcja oddała zgłoszenie",
    "consultation": "Konsultacja drugiej linii",
    "assignment_rejected": "Odrzucono przydział zgłoszenia",
}
# Mail these events already have from their own path (`tickets.handoff` sends the feedback
# mail and checks the matrix when composing it): the dispatcher adds only the notices.
OWN_MAIL: Final = frozenset({"handoff_returned"})


def recipients(session: Session, ticket: TicketRow, recipient: str, group: str) -> set[int]:
    """The users a matrix recipient stands for on this ticket."""
    if recipient == "lead":
        return {ticket.lead_consultant_id} if ticket.lead_consultant_id else set()
    if recipient == "assigner":
        # Who gave the ticket its current assignment (gone from the ticket itself by then).
        assignment = current_assignment(session, ticket.id)
        return {assignment.assigned_by_id} if assignment and assignment.assigned_by_id else set()
    if recipient == "second_line":
        return {ticket.second_line_id} if ticket.second_line_id else set()
    if recipient == "watchers":
        # Everyone who worked on it: logged time or wrote on it (Zendesk's followers).
        worked = session.scalars(
            select(TimeEntryRow.user_id).where(TimeEntryRow.ticket_id == ticket.id)
        )
        wrote = session.scalars(
            select(TicketMessageRow.user_id).where(
                TicketMessageRow.ticket_id == ticket.id, TicketMessageRow.user_id.is_not(None)
            )
        )
        return {u for u in (*worked, *wrote) if u is not None}
    if recipient == "group":
        from tickets.planner.orm import OperatorCalendarRow

        return set(
            session.scalars(
                select(OperatorCalendarRow.user_id).where(OperatorCalendarRow.group == group)
            )
        )
    return set()  # the contact: by mail only, through `mail.notify_state`


def dispatch(
    session: Session,
    event: str,
    ticket: TicketRow,
    *,
    actor_user_id: int | None,
    state: str = "",
    body: str = "",
    only: set[int] | None = None,
) -> list[tuple[int, str]]:
    """Tell everyone the matrix names for `event` on `ticket`; returns (user, channel) pairs.
    `only` narrows the recipients (the assignee of an `assigned` event)."""
    sent: set[tuple[int, str]] = set()
    with session.no_autoflush:
        rules = matching(session, event, definition=ticket.definition_code, state=state)
        for rule in rules:
            users = recipients(session, ticket, rule.recipient, rule.group_name)
            if only is not None:
                users &= only
            for user_id in users - {actor_user_id}:
                if (user_id, rule.channel) in sent:
                    continue
                sent.add((user_id, rule.channel))
                if rule.channel == "notice":
                    session.add(
                        NoticeRow(
                            user_id=user_id,
                            ticket_id=ticket.id,
                            event=event,
                            title=f"{TITLES.get(event, event)}: {ticket.number}",
                            body=(body or ticket.title)[:2000],
                        )
                    )
                elif event not in OWN_MAIL:
                    reason = cast(Reason, event)
                    notify_user(
                        session, user_id, ticket.id, reason, note=body, extra={"state": state}
                    )
    return sorted(sent)


def _ticket(session: Session, ticket_id: int) -> TicketRow | None:
    with session.no_autoflush:
        return session.get(TicketRow, ticket_id)


def _assigned(session: Session, ticket: TicketRow, assignee: int | None, by: int | None) -> None:
    """Someone else made `assignee` the lead: an assignment waits for their answer."""
    if assignee is None:
        return
    open_assignment(session, ticket.id, assignee, by)
    dispatch(session, "assigned", ticket, actor_user_id=by, only={assignee})


def _contact_mail(session: Session, ticket: TicketRow, state: str, old: Any) -> None:
    """The contact hears of the new state by mail when the matrix says so."""
    with session.no_autoflush:
        asked = wants(
            session, "state", "contact", "email", definition=ticket.definition_code, state=state
        )
    if asked:
        enqueue(session, NOTIFY_JOB, {"ticket_id": ticket.id, "state": state, "old": old})


def _on_history(session: Session, row: TicketHistoryRow) -> None:
    ticket = _ticket(session, row.ticket_id)
    if ticket is None:
        return
    by = row.user_id
    if row.action == "created":
        dispatch(session, "created", ticket, actor_user_id=by)
        if by is not None and ticket.lead_consultant_id not in (None, by):
            _assigned(session, ticket, ticket.lead_consultant_id, by)
    elif row.action == "field" and row.field == "lead_consultant_id":
        if isinstance(row.new_value, int) and row.new_value != by:
            _assigned(session, ticket, row.new_value, by)
    elif row.action == "transition":
        state = str(row.new_value or "")
        dispatch(session, "state", ticket, actor_user_id=by, state=state, body=row.note)
        _contact_mail(session, ticket, state, row.old_value)
        if by is None and row.actor == DEVOPS_ACTOR_NAME:
            dispatch(session, "handoff_returned", ticket, actor_user_id=None, body=row.note)
    elif row.action == "assignment_rejected":
        dispatch(session, "assignment_rejected", ticket, actor_user_id=by, body=row.note)
    elif row.action == "devops_feedback":
        dispatch(session, "handoff_returned", ticket, actor_user_id=None, body=row.note)


def _find_events(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        if isinstance(obj, TicketHistoryRow):
            _on_history(session, obj)
        elif (
            isinstance(obj, TicketMessageRow)
            and obj.direction == "in"
            and not obj.automatic
            and obj.ticket_id is not None
        ):
            ticket = _ticket(session, obj.ticket_id)
            if ticket is not None:
                body = f"{obj.sender}: {obj.subject}".strip(": ")
                dispatch(session, "reply", ticket, actor_user_id=obj.user_id, body=body)


def listen() -> None:
    """Dispatch the events of every session's flushes from now on (the composition root calls
    it once per process; calling it again changes nothing)."""
    if not sa_event.contains(Session, "before_flush", _find_events):
        sa_event.listen(Session, "before_flush", _find_events)
