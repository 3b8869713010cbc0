"""Whether the ticket page offers "hand off to production", and if not, why not."""

from __future__ import annotations

from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core import definitions as defs
from tickets.core.services import get_ticket
from tickets.handoff.orm import DevOpsHandoffRow, DevOpsModuleRow
from tickets.handoff.service import HANDOFF_FROM

Blocker = Literal["", "kind", "done", "state", "module"]


class HandoffOffer(msgspec.Struct, frozen=True):
    available: bool
    blocker: Blocker
    """Why not: not a task, already handed off, a state it cannot start from, an unmapped
    module ("" when available)."""
    status: str | None
    """The handoff's own status when there is one (pending, linked, failed)."""


def handoff_offer(session: Session, ticket_id: int) -> HandoffOffer:
    ticket = get_ticket(session, ticket_id)
    definition = defs.get_definition(session, ticket.definition_code)
    handoff = session.get(DevOpsHandoffRow, ticket.id)
    status = handoff.status if handoff is not None else None

    def no(blocker: Blocker) -> HandoffOffer:
        return HandoffOffer(False, blocker, status)

    if definition.kind != "task" or ticket.state in definition.final_states:
        return no("kind")
    if handoff is not None and handoff.status != "failed":
        return no("done")
    startable = ticket.state == "in_progress" or "in_progress" in definition.allowed_from(
        ticket.state
    )
    if ticket.state not in HANDOFF_FROM or not startable:
        return no("state")
    wanted = ticket.module.strip().casefold()
    modules = session.scalars(select(DevOpsModuleRow.module).where(DevOpsModuleRow.active))
    if not wanted or all(m.casefold() != wanted for m in modules):
        return no("module")
    return HandoffOffer(True, "", status)
