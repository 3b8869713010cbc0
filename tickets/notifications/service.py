"""Notifications by mail, through the outbox: users on assignment and DevOps feedback, contact
persons on the state changes their ticket's definition marks as notifying.

Every mail leaves as a `mail.send` job (the payload shape of `intake.mailer`), so there is one
way out. Rules are checked when the notice is composed, i.e. with the latest data: a user who
opted out (`UserRow.notify_opt_out`) gets nothing, and nothing ever goes to a client or partner
flagged do_not_contact (nor to their contacts); a notice to a user about such a client's ticket
is staff mail (`staff` in the payload) and still goes out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tickets.assignments.links import answer_block
from tickets.core import definitions as defs
from tickets.core.assignments import pending_for
from tickets.core.message_ids import new_message_id
from tickets.core.orm import (
    ClientRow,
    ContactRow,
    PartnerRow,
    TicketMessageRow,
    TicketRow,
    UserRow,
)
from tickets.core.outbox import OutboxJob, enqueue
from tickets.core.runtime import Runtime
from tickets.core.schemas import SYSTEM
from tickets.core.services import NOTIFY_JOB, record, utcnow
from tickets.domain.work_items import work_item_state_pl

if TYPE_CHECKING:
    from tickets.core.settings import Settings


class NotifyRuntime(Runtime, Protocol):
    """Notifications' needs: the process parts."""

    pass


log = logging.getLogger("sedno.notifications")

SEND_MAIL_JOB: Final = "mail.send"
NOTIFY_USER_JOB: Final = "mail.notify_user"
NOTIFY_STATE_JOB: Final = NOTIFY_JOB
Reason = Literal[
    "assigned", "handoff", "devops_feedback", "created", "state", "reply", "consultation",
    "assignment_rejected",
]  # fmt: skip
EVENT_OF_REASON: Final = {"devops_feedback": "handoff_returned"}
"""Notices whose mail another module queues: the matrix is checked when they are composed."""
LeadMailWanted = Callable[[Session, str, str], bool]
"""Whether the notification matrix mails the lead of a ticket of a definition about an event
(`tickets.notices.rules.lead_wants_mail`, handed in by the composition root)."""
FOOTER: Final = "\n\n--\nWiadomość wysłana automatycznie przez Sedno."
"""The mail sender adds the signed opt-out link below it (`tickets.notices.optout`)."""


def notify_user(
    session: Session,
    user_id: int,
    ticket_id: int,
    reason: Reason,
    *,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> None:
    """Queue a notice to a Sedno user; composed (and opt-out checked) by the worker."""
    payload = {"user_id": user_id, "ticket_id": ticket_id, "reason": reason, "note": note}
    enqueue(session, NOTIFY_USER_JOB, {**payload, **(extra or {})})


# ---------------------------------------------------------------- rules


def do_not_contact_reason(session: Session, ticket: TicketRow | None, address: str) -> str | None:
    """Why `address` must not get mail (about `ticket`, when given), or None when it may."""
    address = address.strip().lower()
    clients: set[int] = {ticket.client_id} if ticket and ticket.client_id else set()
    partners: set[int] = {ticket.partner_id} if ticket and ticket.partner_id else set()
    contact_id = ticket.contact_id if ticket is not None else None
    contacts = list(
        session.scalars(
            select(ContactRow).where(
                or_(ContactRow.id == contact_id, func.lower(ContactRow.email) == address)
            )
        )
    )
    clients |= {c.client_id for c in contacts if c.client_id}
    partners |= {c.partner_id for c in contacts if c.partner_id}
    for client in session.scalars(
        select(ClientRow).where(
            or_(ClientRow.id.in_(clients), func.lower(ClientRow.email) == address)
        )
    ):
        if client.do_not_contact:
            return f"klient {client.name} ma zakaz kontaktu"
        if client.partner_id:
            partners.add(client.partner_id)
    for partner in session.scalars(
        select(PartnerRow).where(
            or_(PartnerRow.id.in_(partners), func.lower(PartnerRow.email) == address)
        )
    ):
        if partner.do_not_contact:
            return f"partner {partner.name} ma zakaz kontaktu"
    return None


def contact_address(session: Session, ticket: TicketRow) -> str | None:
    if ticket.contact_id is not None:
        contact = session.get(ContactRow, ticket.contact_id)
        if contact is not None and contact.email:
            return contact.email.strip().lower()
    return ticket.contact_email.strip().lower() if ticket.contact_email else None


# ---------------------------------------------------------------- texts


def _ticket_link(settings: Settings, ticket: TicketRow) -> str:
    return f"{settings.public_url}/tickets/{ticket.id}"


def user_notice(
    settings: Settings,
    ticket: TicketRow,
    reason: str,
    payload: dict[str, Any],
    state_label: Callable[[str], str] = str,
) -> tuple[str, str]:
    """Subject and text of a notice to a Sedno user, in Polish; `state_label` names a state
    of the ticket's definition."""
    note = str(payload.get("note") or "")
    link = _ticket_link(settings, ticket)
    if reason == "devops_feedback":
        item = payload.get("work_item_id")
        state = work_item_state_pl(str(payload.get("work_item_state") or ""))
        subject = f"[{ticket.number}] Odpowiedź produkcji: {note or state}"
        text = (
            f"Dzień dobry,\n\nprodukcja zmieniła stan elementu roboczego #{item} "
            f"na „{state}”.\n{note}\n\nZgłoszenie {ticket.number}: {ticket.title}\n"
            f"Stan zgłoszenia: {state_label(ticket.state)}. Zgłoszenie wróciło do Ciebie.\n{link}"
        )
    elif reason == "handoff":
        subject = f"[{ticket.number}] Przekazano na produkcję: {ticket.title}"
        text = (
            f"Dzień dobry,\n\nzgłoszenie {ticket.number} ({ticket.title}) zostało przekazane "
            f"na produkcję i przypisane do Ciebie jako drugiej linii.\n"
            f"Moduł: {ticket.module}\n{link}"
        )
    elif reason == "consultation":
        subject = f"[{ticket.number}] Prośba o konsultację: {ticket.title}"
        text = (
            f"Dzień dobry,\n\nkonsultant prosi o konsultację w zgłoszeniu {ticket.number} "
            f"({ticket.title}), moduł {ticket.module or '—'}:\n\n{note}\n\n"
            "Odpowiedz na tę wiadomość albo w zgłoszeniu; odpowiedź trafi do zgłoszenia.\n"
            f"{link}"
        )
    elif reason == "assignment_rejected":
        subject = f"[{ticket.number}] Odrzucono przydział: {ticket.title}"
        text = (
            f"Dzień dobry,\n\nprzydział zgłoszenia {ticket.number} ({ticket.title}) został "
            f"odrzucony: {note}\nZgłoszenie wróciło do kolejki i czeka na nowy przydział.\n{link}"
        )
    elif reason in ("created", "state", "reply"):
        what = {
            "created": "Nowe zgłoszenie",
            "state": f"Zmiana stanu na {state_label(str(payload.get('state') or ticket.state))}",
            "reply": "Nowa wiadomość w zgłoszeniu",
        }[reason]
        subject = f"[{ticket.number}] {what}: {ticket.title}"
        text = f"Dzień dobry,\n\n{what}: {ticket.number} ({ticket.title}).\n{note}\n{link}"
    else:
        subject = f"[{ticket.number}] Przydzielono Ci zgłoszenie: {ticket.title}"
        text = (
            f"Dzień dobry,\n\nprzydzielono Ci zgłoszenie {ticket.number}: {ticket.title}.\n"
            f"Priorytet: {ticket.priority}\n{link}\n"
        )
        if payload.get("answer_block"):
            text += f"\n{payload['answer_block']}"
    return subject, text + FOOTER


def contact_notice(ticket: TicketRow, state_label: str) -> tuple[str, str]:
    """Subject and text of a state change for the contact person, in Polish."""
    subject = f"[{ticket.number}] Zmiana stanu zgłoszenia: {state_label}"
    text = (
        "Dzień dobry,\n\n"
        f"stan Państwa zgłoszenia {ticket.number} ({ticket.title}) zmienił się na: "
        f"{state_label}.\n"
        f"Odpowiadając, prosimy zachować numer {ticket.number} w temacie wiadomości.\n\n"
        "Ta wiadomość została wysłana automatycznie.\n\nPozdrawiamy\nDział wsparcia\n"
    )
    return subject, text


def mail_payload(
    settings: Settings,
    to: str,
    subject: str,
    text: str,
    *,
    message_id: str,
    ticket_id: int,
    purpose: str,
) -> dict[str, Any]:
    """A `mail.send` payload, shaped as `intake.mailer.build_message` reads it."""
    return {
        "from": settings.mail_from,
        "to": [to],
        "subject": subject,
        "message_id": f"<{message_id}>",
        "headers": {"Auto-Submitted": "auto-generated", "X-Sedno-Loop": settings.mail_domain},
        "text": text,
        "ticket_id": ticket_id,
        "purpose": purpose,
    }


def _message_id(settings: Settings, ticket_id: int) -> str:
    """Signed, so that a reply threads into the ticket."""
    return new_message_id(ticket_id, domain=settings.mail_domain, secret=settings.secret_key)


# ---------------------------------------------------------------- outbox handlers


class Handlers:
    def __init__(self, container: NotifyRuntime, lead_mail_wanted: LeadMailWanted) -> None:
        self.db = container.db
        self.settings = container.settings
        self.lead_mail_wanted = lead_mail_wanted

    def notify_user(self, job: OutboxJob) -> None:
        """Compose a user notice into a `mail.send` job, unless the user opted out."""
        p = job.payload
        with self.db.transaction() as s:
            user = s.get(UserRow, int(p["user_id"]))
            ticket = s.get(TicketRow, int(p["ticket_id"]))
            if user is None or ticket is None or not user.active or not user.email:
                log.info("notice %s not sent: no such active user with an address", job.id)
                return
            if user.notify_opt_out:
                log.info("notice %s not sent: user %s opted out", job.id, user.login)
                return
            event = EVENT_OF_REASON.get(str(p["reason"]))
            if event is not None and not self.lead_mail_wanted(s, event, ticket.definition_code):
                log.info("notice %s not sent: the matrix has no mail for %s", job.id, event)
                return
            message_id = f"sedno.notice.{ticket.id}.{job.id}@{self.settings.mail_domain}"
            if p["reason"] == "consultation":
                # Signed, so the second line's answer by mail threads into the ticket.
                message_id = _message_id(self.settings, ticket.id)
            assignment = pending_for(s, ticket.id, user.id) if p["reason"] == "assigned" else None
            if assignment is not None:
                # Signed and kept on the assignment: the assignee's reply answers it.
                message_id = _message_id(self.settings, ticket.id)
                assignment.message_id = message_id
                block = answer_block(
                    self.settings.public_url, self.settings.secret_key, assignment.id, utcnow()
                )
                p = {**p, "answer_block": block}
            definition = defs.get_definition(s, ticket.definition_code)
            subject, text = user_notice(
                self.settings, ticket, str(p["reason"]), p, state_label=definition.label
            )
            payload = mail_payload(
                self.settings,
                user.email,
                subject,
                text,
                message_id=message_id,
                ticket_id=ticket.id,
                purpose=f"notice:{p['reason']}",
            )
            if assignment is not None:
                payload["headers"]["Reply-To"] = self.settings.mail_from
            # To a colleague: a client's do-not-contact is about the client, not about staff.
            enqueue(s, SEND_MAIL_JOB, {**payload, "staff": True})

    def notify_state(self, job: OutboxJob) -> None:
        """Tell the contact person their ticket changed state (`mail.notify_state`)."""
        p = job.payload
        with self.db.transaction() as s:
            ticket = s.get(TicketRow, int(p["ticket_id"]))
            if ticket is None:
                return
            address = contact_address(s, ticket)
            if address is None:
                return
            marker = f"notify:{job.id}"
            if s.scalar(
                select(TicketMessageRow.id).where(
                    TicketMessageRow.ticket_id == ticket.id,
                    TicketMessageRow.attach_reason == marker,
                )
            ):
                return  # this job ran before and its mail is queued
            blocked = do_not_contact_reason(s, ticket, address)
            if blocked is not None:
                note = f"nie wysłano: Zakaz kontaktu — powiadomienie do {address}: {blocked}"
                record(s, ticket, SYSTEM, "notify_skipped", note=note)
                return
            label = defs.get_definition(s, ticket.definition_code).label(str(p["state"]))
            subject, text = contact_notice(ticket, label)
            message_id = _message_id(self.settings, ticket.id)
            s.add(
                TicketMessageRow(
                    ticket_id=ticket.id,
                    direction="out",
                    sender=self.settings.mail_from,
                    subject=subject,
                    body_text=text,
                    message_id=message_id,
                    attach_reason=marker,
                )
            )
            enqueue(
                s,
                SEND_MAIL_JOB,
                mail_payload(
                    self.settings,
                    address,
                    subject,
                    text,
                    message_id=message_id,
                    ticket_id=ticket.id,
                    purpose="notify_state",
                ),
            )


def register_outbox_handlers(
    container: NotifyRuntime,
    single: dict[str, Any],
    batch: dict[str, Any],
    *,
    lead_mail_wanted: LeadMailWanted,
) -> None:
    """`mail.notify_user` and `mail.notify_state`; both end as `mail.send` jobs."""
    handlers = Handlers(container, lead_mail_wanted)
    single[NOTIFY_USER_JOB] = handlers.notify_user
    single[NOTIFY_STATE_JOB] = handlers.notify_state
