"""The assignee's reply to an assignment mail: a message of the ticket from that user, never a
pending call, and the answer its first words give (`tickets.assignments.replies`).

A reply is recognised by the signed Message-ID the assignment mail carried (In-Reply-To or
References), or by the ticket number in the subject when it comes from the address of the
user whose answer the ticket's current assignment waits for. Only a person answers:
automatic mail (out-of-office, bounces) goes to ordinary threading instead. A short mail that
only reads like an out-of-office ("Odrzucam, jestem na urlopie") answers when it opens with
an explicit verb ("Odrzucam", "Potwierdzam"), never with a "nie" or "tak". A colleague at the
desk's own mail domain is not a loop for this, though their client's Message-ID shares it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.classify import Classification
from intake.parse import ParsedMail
from intake.receipts import IngestResult, record_receipt
from tickets.assignments.answers import answer_assignment
from tickets.assignments.replies import read_answer
from tickets.core.assignments import AssignmentRow, by_message_ids, current_assignment
from tickets.core.orm import TicketMessageRow, TicketRow, UserRow
from tickets.core.schemas import SYSTEM
from tickets.core.services import record, utcnow
from tickets.domain.errors import Conflict
from tickets.domain.numbering import number_in_subject

OWN_MESSAGE_ID = "own-message-id"
"""The classifier's reason when the only sign of a loop is the Message-ID's domain."""
OUT_OF_OFFICE_BY_TEXT = "out-of-office-text"
"""The classifier's reason when only the wording, no header, looked automatic."""
REPLY_REASON = "odpowiedź na przydział"
UNDECIDED = "odpowiedź na przydział bez rozstrzygnięcia: przydział nadal oczekuje"


def _assignee_address(session: Session, row: AssignmentRow) -> str:
    user = session.get(UserRow, row.assignee_id)
    return (user.email or "").strip().lower() if user is not None and user.active else ""


def _pending_by_number(session: Session, mail: ParsedMail) -> AssignmentRow | None:
    """The waiting assignment of the ticket whose number the subject names."""
    number = number_in_subject(mail.subject)
    if number is None:
        return None
    ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.number == number))
    row = current_assignment(session, ticket_id) if ticket_id is not None else None
    return row if row is not None and row.state == "pending" else None


def assignment_of_reply(session: Session, mail: ParsedMail) -> AssignmentRow | None:
    """The assignment this mail answers, when its sender is that assignment's assignee."""
    sender = mail.sender.address.lower() if mail.sender else ""
    if not sender:
        return None
    ids = [i for i in (mail.in_reply_to, *reversed(mail.references)) if i]
    row = by_message_ids(session, ids) or _pending_by_number(session, mail)
    return row if row is not None and _assignee_address(session, row) == sender else None


def _colleague_on_our_domain(mail: ParsedMail, verdict: Classification) -> bool:
    """A loop only because the Message-ID carries our domain, which a colleague's own mail
    client stamps too; ours all start `sedno`. The sender must still be the assignee."""
    own = (mail.message_id or "").lower().startswith("sedno")
    return verdict.reason == OWN_MESSAGE_ID and not own


def _by_text_only(verdict: Classification) -> bool:
    return verdict.label == "auto_reply" and verdict.reason == OUT_OF_OFFICE_BY_TEXT


def answering_assignment(
    session: Session, mail: ParsedMail, verdict: Classification
) -> AssignmentRow | None:
    """The assignment a person's reply answers, or None (then the mail threads as usual)."""
    if verdict.label == "loop" and not _colleague_on_our_domain(mail, verdict):
        return None
    if verdict.automatic and not _by_text_only(verdict):
        return None
    if _by_text_only(verdict) and read_answer(mail.text, explicit_only=True)[0] is None:
        return None
    return assignment_of_reply(session, mail)


def take_assignment_reply(
    session: Session,
    mail: ParsedMail,
    row: AssignmentRow,
    key: str,
    raw_sha256: str,
    attach: Callable[[int, int], list[str]],
) -> IngestResult:
    """Put the reply on the ticket as the assignee's internal message, then answer with it;
    `attach(ticket_id, message_id)` stores its files."""
    user = session.get(UserRow, row.assignee_id)
    message = TicketMessageRow(
        ticket_id=row.ticket_id,
        direction="note",
        sender=mail.sender.address.lower() if mail.sender else "",
        subject=mail.subject[:1000],
        body_text=mail.text,
        body_html=mail.html,
        message_id=mail.message_id,
        attach_reason=REPLY_REASON,
        user_id=user.id if user is not None else None,
        raw_sha256=raw_sha256,
    )
    session.add(message)
    session.flush()
    attach(row.ticket_id, message.id)
    answer, reason = read_answer(mail.text)
    ticket = session.get(TicketRow, row.ticket_id)
    assert ticket is not None  # the assignment's ticket (rows cascade with it)
    outcome = UNDECIDED
    if answer is not None:
        try:
            answer_assignment(session, row.id, answer, user_id=row.assignee_id, via="mail",
                              now=utcnow(), reason=reason, with_message=False)  # fmt: skip
            outcome = f"{REPLY_REASON}: {answer}"
        except Conflict as exc:
            outcome = f"{REPLY_REASON} nie zmieniła przydziału ({exc})"
    record(session, ticket, SYSTEM, "mail_threaded", new=message.sender, note=outcome[:4000])
    record_receipt(
        session, key, raw_sha256, "threaded", ticket_id=ticket.id, ticket_message_id=message.id
    )
    return IngestResult(outcome="threaded", status="threaded", ticket_id=ticket.id)
