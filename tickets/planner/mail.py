"""Customer mail about an appointment, with an iCalendar invitation, through the outbox.

Booking, moving and cancelling queue a `planner.appointment_mail` job; its handler composes
the mail with the data as it is then (a later change supersedes a mail not yet sent, so the
customer's calendar gets the latest version), checks Do-not-contact, and queues one
`mail.send` job with the `.ics` attached. The event's UID is the appointment's, and SEQUENCE
grows with every change, so calendars update or remove the same event.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any, Final

import jinja2
from icalendar import Calendar, Event, vCalAddress, vText
from sqlalchemy.orm import Session

from tickets.core.db import Database, utcnow
from tickets.core.orm import ClientRow, TicketRow, UserRow
from tickets.core.outbox import OutboxJob, enqueue
from tickets.core.schemas import SYSTEM
from tickets.core.services import record
from tickets.notifications.service import contact_address, do_not_contact_reason
from tickets.planner.appointments import APPOINTMENT_MAIL_JOB
from tickets.planner.orm import AppointmentRow
from tickets.planner.settings import PlannerSettings

log = logging.getLogger("sedno.planner")

SEND_MAIL_JOB: Final = "mail.send"
SUBJECTS: Final = {
    ("pl", "created"): "Wizyta serwisowa {number}: {day} {clock}",
    ("pl", "moved"): "Zmiana terminu wizyty {number}: {day} {clock}",
    ("pl", "cancelled"): "Odwołana wizyta {number}",
    ("en", "created"): "Service visit {number}: {day} {clock}",
    ("en", "moved"): "Service visit {number} rescheduled: {day} {clock}",
    ("en", "cancelled"): "Service visit {number} cancelled",
}
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("tickets.planner", "mail_templates"),
    autoescape=False,  # plain text mail
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


class MailIdentity:
    """Who the mail is from and the domain of our UIDs and Message-IDs."""

    def __init__(self, mail_from: str, mail_domain: str) -> None:
        self.mail_from = mail_from
        self.mail_domain = mail_domain


def event_uid(appointment_id: int, domain: str) -> str:
    return f"sedno-appointment-{appointment_id}@{domain}"


def invitation(
    row: AppointmentRow,
    ticket: TicketRow,
    operator: UserRow | None,
    attendees: list[str],
    identity: MailIdentity,
    cancelled: bool,
    now: dt.datetime,
) -> bytes:
    """The iCalendar object (RFC 5545/5546): METHOD REQUEST, or CANCEL when called off."""
    cal = Calendar()
    cal.add("prodid", "-//Sedno//Planner//PL")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", event_uid(row.id, identity.mail_domain))
    event.add("sequence", row.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", row.starts_at)
    event.add("dtend", row.ends_at)
    event.add("summary", f"{ticket.number}: {ticket.title}")
    event.add("description", f"{ticket.number}\n{ticket.title}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    name, address = parseaddr(identity.mail_from)
    organizer = vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = vText(name or address)
    event["organizer"] = organizer
    for email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee, encode=False)
    if operator is not None and operator.email:
        technician = vCalAddress(f"mailto:{operator.email}")
        technician.params["cn"] = vText(operator.name)
        technician.params["role"] = vText("CHAIR")
        event.add("attendee", technician, encode=False)
    cal.add_component(event)
    ics: bytes = cal.to_ical()
    return ics


def recipients(session: Session, row: AppointmentRow, ticket: TicketRow) -> list[str]:
    """The ticket's contact (or the client's address) and the extra addresses of the booking."""
    found: list[str] = list(row.notify_emails)
    contact = contact_address(session, ticket)
    if contact is None and ticket.client_id:
        client = session.get(ClientRow, ticket.client_id)
        contact = client.email.strip().lower() if client is not None and client.email else None
    if contact:
        found.insert(0, contact)
    return list(dict.fromkeys(found))


def compose(
    session: Session,
    settings: PlannerSettings,
    identity: MailIdentity,
    row: AppointmentRow,
    action: str,
    now: dt.datetime,
) -> dict[str, Any] | None:
    """The `mail.send` payload, or None when nobody may or can get it (recorded on the ticket)."""
    ticket = session.get(TicketRow, row.ticket_id)
    if ticket is None:
        return None
    allowed: list[str] = []
    for address in recipients(session, row, ticket):
        blocked = do_not_contact_reason(session, ticket, address)
        if blocked is None:
            allowed.append(address)
        else:
            record(session, ticket, SYSTEM, "mail_blocked", new=address, note=blocked)
    if not allowed:
        return None
    operator = session.get(UserRow, row.operator_id)
    language = row.language if row.language in ("pl", "en") else "pl"
    start, end = row.starts_at.astimezone(settings.zone), row.ends_at.astimezone(settings.zone)
    context = {
        "action": action,
        "number": ticket.number,
        "title": ticket.title,
        "day": start.strftime("%Y-%m-%d"),
        "start_clock": start.strftime("%H:%M"),
        "end_clock": end.strftime("%H:%M"),
        "timezone": settings.timezone,
        "operator": operator.name if operator else "",
    }
    subject = SUBJECTS[(language, action)].format(
        number=ticket.number, day=context["day"], clock=context["start_clock"]
    )
    cancelled = action == "cancelled"
    ics = invitation(row, ticket, operator, allowed, identity, cancelled, now)
    method = "CANCEL" if cancelled else "REQUEST"
    return {
        "from": identity.mail_from,
        "to": allowed,
        "subject": subject,
        "message_id": f"<sedno.appointment.{row.id}.{row.sequence}@{identity.mail_domain}>",
        "headers": {"Auto-Submitted": "auto-generated", "X-Sedno-Loop": identity.mail_domain},
        "text": _TEMPLATES.get_template(f"appointment_{language}.txt").render(context),
        "attachments": [
            {
                "filename": "zaproszenie.ics" if language == "pl" else "invitation.ics",
                "content_type": "text/calendar",
                "params": {"method": method},
                "text": ics.decode("utf-8"),
            }
        ],
        "purpose": f"appointment_{action}",
    }


def make_appointment_mail_handler(
    db: Database, settings: PlannerSettings, identity: MailIdentity
) -> Callable[[OutboxJob], None]:
    """The `planner.appointment_mail` outbox handler."""

    def appointment_mail(job: OutboxJob) -> None:
        with db.transaction() as session:
            row = session.get(AppointmentRow, int(job.payload["appointment_id"]))
            if row is None or row.sequence != int(job.payload["sequence"]) or not row.notify:
                return  # gone, or superseded by a later change that queued its own mail
            payload = compose(
                session, settings, identity, row, str(job.payload["action"]), utcnow()
            )
            if payload is not None:
                enqueue(session, SEND_MAIL_JOB, payload)
            log.info(
                "appointment %s: %s mail %s",
                row.id,
                job.payload["action"],
                "queued" if payload else "not sent (nobody may get it)",
            )

    return appointment_mail


def register(
    handlers: dict[str, Any], db: Database, settings: PlannerSettings, identity: MailIdentity
) -> None:
    handlers[APPOINTMENT_MAIL_JOB] = make_appointment_mail_handler(db, settings, identity)
