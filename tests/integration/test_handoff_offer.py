"""The ticket page offers a handoff only where one can start, and says why not elsewhere."""

from __future__ import annotations

from tickets.console.handoff_offer import handoff_offer
from tickets.core.db import Database
from tickets.core.schemas import SYSTEM, Actor, TicketCreate, TicketPatch
from tickets.core.services import create_ticket, transition_ticket, update_ticket
from tickets.handoff.service import ModuleEntry, put_modules, request_handoff


def test_offer_follows_state_module_and_an_earlier_handoff(db: Database) -> None:
    actor = Actor(None, "test")
    with db.transaction() as s:
        put_modules(s, [ModuleEntry(module="Handel", area_path="Sedno\\Handel")])
        ticket = create_ticket(s, actor, TicketCreate(title="Błąd", module="Handel"))
        unmapped = create_ticket(s, actor, TicketCreate(title="Bez modułu"))
        event = create_ticket(s, actor, TicketCreate(definition="ZT", title="Telefon"))
        tid, uid, eid = ticket.id, unmapped.id, event.id
    with db.transaction() as s:
        assert handoff_offer(s, tid).blocker == "state"  # Zgłoszony: not from here
        assert handoff_offer(s, eid).blocker == "kind"
        transition_ticket(s, SYSTEM, tid, "analysing")
        transition_ticket(s, SYSTEM, uid, "analysing")
        assert handoff_offer(s, tid).available
        assert handoff_offer(s, uid).blocker == "module"
        update_ticket(s, SYSTEM, uid, TicketPatch(module="handel"))
        assert handoff_offer(s, uid).available
        request_handoff(s, SYSTEM, tid)
        offer = handoff_offer(s, tid)
        assert (offer.available, offer.blocker, offer.status) == (False, "done", "pending")
