"""Calls that do not arrive in the mailbox: the public web form and logged phone events."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy.orm import Session

from intake import form as web_form
from intake.context import IntakeContext
from intake.ingest import ingest_parsed
from intake.orm import IntakeCallRow
from intake.parse import parse_mail
from tickets.core.db import utcnow
from tickets.core.orm import LicenceRow, TicketRow
from tickets.core.schemas import SYSTEM, Actor, PhoneEventCreate
from tickets.core.services import register_phone_event


class FormReceipt(msgspec.Struct, frozen=True):
    """`202 {call_id, status}` for the web form; a honeypot hit reads like any other."""

    call_id: int
    status: str


def submit_form(
    session: Session,
    ctx: IntakeContext,
    submission: web_form.FormSubmission,
    *,
    client_address: str | None = None,
) -> FormReceipt:
    """A web form submission becomes a pending call (stored as a mail, classified like one).

    Raises FormFieldInvalid / FormTooLarge / FormRateLimited. A filled honeypot is stored as
    a dropped spam call and answered like any other submission. Form calls are never
    auto-accepted: anyone can type a client's address into a form.
    """
    data = web_form.validate_submission(submission, ctx.form_limits)
    web_form.check_rate(
        session, client_address=client_address, email=data.email, limits=ctx.form_limits
    )
    settings = ctx.settings
    raw, _message_id = web_form.submission_to_mail(
        data, to=settings.mail_from, domain=settings.mail_domain, client_address=client_address
    )
    raw_sha256 = ctx.blobs.put(raw)
    mail = parse_mail(raw)
    fields: dict[str, Any] = {"product": data.product or ""}
    if data.licence:
        licence = session.get(LicenceRow, data.licence)
        if licence is not None:
            fields.update(
                licence=licence.number,
                client_id=licence.client_id,
                partner_id=licence.partner_id,
                product=data.product or licence.product,
            )
        else:
            fields["unverified_licence"] = data.licence
    honeypot = web_form.is_honeypot(data)
    result = ingest_parsed(
        session,
        ctx,
        mail,
        raw_sha256,
        source="form",
        source_info={"form": {k: v for k, v in fields.items() if k == "unverified_licence"}},
        client_address=client_address,
        form_fields=fields,
        honeypot=honeypot,
    )
    assert result.call_id is not None
    return FormReceipt(result.call_id, "pending" if honeypot else result.status)


def log_phone_call(session: Session, ticket: TicketRow, actor: Actor = SYSTEM) -> IntakeCallRow:
    """A registered ZT phone event, shown in the queue history as an accepted phone call."""
    call = IntakeCallRow(
        source="phone",
        status="accepted",
        classification="ham",
        reason="phone event",
        score=0.0,
        sender=(ticket.contact_email or "").lower(),
        subject=ticket.title[:1000],
        body_text=ticket.description,
        received_at=ticket.reported_at or utcnow(),
        ticket_id=ticket.id,
        client_id=ticket.client_id,
        partner_id=ticket.partner_id,
        contact_id=ticket.contact_id,
        licence=ticket.licence,
        product=ticket.product,
        decided_by=actor.label if actor.user_id is None else actor.name,
        decided_at=utcnow(),
        source_info={"ticket_number": ticket.number},
    )
    session.add(call)
    session.flush()
    return call


def take_phone_call(session: Session, actor: Actor, event: PhoneEventCreate) -> TicketRow:
    """A consultant registers a call: the ZT event with its stopwatch, also shown in the
    intake queue's history (the API and the call console both take calls this way)."""
    ticket = register_phone_event(session, actor, event)
    log_phone_call(session, ticket)
    return ticket
