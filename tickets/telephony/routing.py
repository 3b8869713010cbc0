"""Where an incoming call should ring: the client's own people first, then whoever is free."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import TicketRow, UserRow
from tickets.telephony.lookup import CLOSED_STATES, find_party
from tickets.telephony.orm import TelephonyUserRow
from tickets.telephony.settings import TelephonySettings
from tickets.telephony.statuses import ON_CALL, effective_status, routable_codes

Reason = Literal["client_consultant", "ticket_consultant", "module_competence", "any_free", "queue"]


class Route(msgspec.Struct):
    """`GET /api/telephony/route`: the extension to ring and why."""

    extension: str | None
    """None only when no one is free and no queue extension is configured."""
    user_id: int | None
    reason: Reason
    client_id: int | None = None


def free_lines(session: Session, now: dt.datetime) -> list[TelephonyUserRow]:
    """Consultants with an extension in a routable status, the longest free first."""
    routable = routable_codes(session)
    lines = session.scalars(
        select(TelephonyUserRow)
        .join(UserRow, UserRow.id == TelephonyUserRow.user_id)
        .where(TelephonyUserRow.extension.is_not(None), UserRow.active.is_(True))
    )
    free = [line for line in lines if effective_status(line, now) in routable]

    def free_since(line: TelephonyUserRow) -> dt.datetime:
        if line.status == ON_CALL and line.free_at is not None:
            return line.free_at
        return line.status_since

    return sorted(free, key=lambda line: (free_since(line), line.user_id))


def _latest_open_ticket(session: Session, client_id: int) -> TicketRow | None:
    return session.scalar(
        select(TicketRow)
        .where(TicketRow.client_id == client_id, TicketRow.state.not_in(CLOSED_STATES))
        .order_by(TicketRow.reported_at.desc(), TicketRow.id.desc())
        .limit(1)
    )


def route_call(
    session: Session, caller_e164: str | None, settings: TelephonySettings, now: dt.datetime
) -> Route:
    """The precedence: the client's consultant (opiekun klienta) when free, else the lead
    consultant of the client's most recent open ticket when free, else a free consultant with
    the client's module among their competences, else any free one, else the queue."""
    free = free_lines(session, now)
    by_user = {line.user_id: line for line in free}
    client = find_party(session, caller_e164).client
    client_id = client.id if client is not None else None

    def to(line: TelephonyUserRow, reason: Reason) -> Route:
        return Route(line.extension, line.user_id, reason, client_id)

    if client is not None:
        if client.consultant_id in by_user:
            return to(by_user[client.consultant_id], "client_consultant")
        open_ticket = _latest_open_ticket(session, client.id)
        if open_ticket is not None and open_ticket.lead_consultant_id in by_user:
            return to(by_user[open_ticket.lead_consultant_id], "ticket_consultant")
        modules = [open_ticket.module] if open_ticket is not None and open_ticket.module else []
        modules += [m for licence in client.licences for m in licence.modules]
        for module in modules:
            for line in free:
                if module in (line.competences or ()):
                    return to(line, "module_competence")
    if free:
        return to(free[0], "any_free")
    return Route(settings.queue_extension or None, None, "queue", client_id)
