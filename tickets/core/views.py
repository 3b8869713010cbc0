"""Read models: a ticket as the API and UI show it, and ticket lists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core import hooks
from tickets.core.assignments import assignment_view
from tickets.core.children import progress
from tickets.core.client_warnings import warnings_for
from tickets.core.orm import (
    AttachmentRow,
    ClientRow,
    ContactRow,
    PartnerRow,
    TicketHistoryRow,
    TicketMessageRow,
    TicketRow,
    TimeEntryRow,
    UserRow,
)
from tickets.core.schemas import (
    AttachmentView,
    HistoryEntry,
    MessageView,
    TicketLink,
    TicketView,
    TimeEntryView,
)
from tickets.core.services import get_ticket, time_total_s, utcnow


def ticket_warnings(session: Session, ticket: TicketRow) -> list[str]:
    client = session.get(ClientRow, ticket.client_id) if ticket.client_id else None
    partner = session.get(PartnerRow, ticket.partner_id) if ticket.partner_id else None
    if partner is None and client is not None:
        partner = client.partner
    return warnings_for(client, partner)


def _link(row: TicketRow) -> TicketLink:
    return TicketLink(id=row.id, number=row.number, title=row.title, state=row.state)


def ticket_view(session: Session, ticket_id: int, *, lang: str = "pl") -> TicketView:
    """Everything about one ticket, warnings included."""
    t = get_ticket(session, ticket_id)
    definition = defs.get_definition(session, t.definition_code)
    client = session.get(ClientRow, t.client_id) if t.client_id else None
    partner = session.get(PartnerRow, t.partner_id) if t.partner_id else None
    parent = session.get(TicketRow, t.parent_id) if t.parent_id else None
    second = session.get(UserRow, t.second_line_id) if t.second_line_id else None
    extra = hooks.current()
    children = session.scalars(
        select(TicketRow).where(TicketRow.parent_id == t.id).order_by(TicketRow.id)
    )
    children_progress = progress(session, t.id)
    messages = session.scalars(
        select(TicketMessageRow)
        .where(TicketMessageRow.ticket_id == t.id)
        .order_by(TicketMessageRow.at, TicketMessageRow.id)
    )
    history = session.scalars(
        select(TicketHistoryRow)
        .where(TicketHistoryRow.ticket_id == t.id)
        .order_by(TicketHistoryRow.at, TicketHistoryRow.id)
    )
    entries = session.scalars(
        select(TimeEntryRow).where(TimeEntryRow.ticket_id == t.id).order_by(TimeEntryRow.started_at)
    )
    attachments = session.scalars(
        select(AttachmentRow).where(AttachmentRow.ticket_id == t.id).order_by(AttachmentRow.id)
    )
    contact = session.get(ContactRow, t.contact_id) if t.contact_id else None
    return TicketView(
        id=t.id,
        number=t.number,
        definition=t.definition_code,
        kind=definition.kind,
        state=t.state,
        state_label=definition.label(t.state, lang),
        resolution=t.resolution,
        title=t.title,
        description=t.description,
        solution=t.solution,
        client_id=t.client_id,
        client_name=client.name if client else None,
        partner_id=t.partner_id,
        partner_name=partner.name if partner else None,
        contact_id=t.contact_id,
        contact_email=t.contact_email,
        licence=t.licence,
        lead_consultant_id=t.lead_consultant_id,
        product=t.product,
        version=t.version,
        module=t.module,
        area=t.area,
        interface=t.interface,
        type=t.type,
        submission_mode=t.submission_mode,
        priority=t.priority,
        reported_at=t.reported_at,
        completed_at=t.completed_at,
        notes=t.notes,
        keywords=list(t.keywords or []),
        kb_links=list(t.kb_links or []),
        verified=t.verified,
        reuse_count=t.reuse_count,
        parent=_link(parent) if parent else None,
        children=[_link(c) for c in children],
        allowed_transitions=list(definition.allowed_from(t.state)),
        warnings=warnings_for(client, partner or (client.partner if client else None)),
        devops_work_item_id=t.devops_work_item_id,
        devops_url=t.devops_url,
        devops_state=t.devops_state,
        external_id=t.external_id,
        created_at=t.created_at,
        updated_at=t.updated_at,
        time_total_s=time_total_s(session, t.id),
        messages=[
            MessageView(
                m.id,
                m.at,
                m.direction,
                m.sender,
                m.subject,
                m.body_text,
                m.body_html,
                m.attach_reason,
                m.spam_score,
                m.automatic,
                m.sender_flag,
            )
            for m in messages
        ],
        history=[
            HistoryEntry(h.at, h.actor, h.action, h.field, h.old_value, h.new_value, h.note)
            for h in history
        ],
        time_entries=[
            TimeEntryView(
                e.id, e.user_id, e.started_at, e.stopped_at, e.seconds, e.manual, e.note, e.billable
            )
            for e in entries
        ],
        attachments=[
            AttachmentView(a.id, a.filename, a.content_type, a.size, a.sha256, a.created_at)
            for a in attachments
        ],
        category=t.category,
        due_from=t.due_from,
        due_to=t.due_to,
        overdue=t.due_to is not None
        and t.state not in definition.final_states
        and t.due_to < utcnow(),
        location=t.location,
        billable=t.billable,
        paid=t.paid,
        checklist=extra.checklist(session, t.id),
        children_progress=children_progress if children_progress.total else None,
        contact_name=t.contact_name or (contact.name if contact else None),
        contact_phone=t.contact_phone or (contact.phone if contact else None),
        second_line_id=t.second_line_id,
        second_line_name=second.name if second else None,
        project_id=t.project_id,
        project_name=extra.project_name(session, t.project_id) if t.project_id else None,
        assignment=assignment_view(session, t.id),
    )
