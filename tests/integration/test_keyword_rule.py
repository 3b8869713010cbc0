"""Keywords a person enters come from the dictionary: the ticket core's rule (its
`TicketHooks.keywords`, installed by the composition root), so every caller of the services
gets it, and the words a ticket already carries, an import's and a curator's stay allowed."""

from __future__ import annotations

import pytest

from search.keywords import KeywordIn, create_keyword
from tickets.core.db import Database
from tickets.core.schemas import (
    SYSTEM,
    CloseEventRequest,
    PhoneEventCreate,
    TicketCreate,
    TicketPatch,
)
from tickets.core.services import close_event, create_ticket, register_phone_event, update_ticket
from tickets.curation.service import CurationEdit, curate_ticket, merge_solution
from tickets.domain.errors import ValidationFailed


def _dictionary(db: Database) -> None:
    with db.transaction() as s:
        create_keyword(s, SYSTEM, KeywordIn(name="wydruk", synonyms=["druk"]))
        create_keyword(s, SYSTEM, KeywordIn(name="KSeF"))


def test_entered_keywords_take_the_preferred_form_and_unknown_words_are_refused(
    db: Database,
) -> None:
    _dictionary(db)
    with db.transaction() as s:
        row = create_ticket(s, SYSTEM, TicketCreate(title="Logo", keywords=["druk", "ksef"]))
        assert row.keywords == ["wydruk", "KSeF"]
        ticket_id = row.id
    with pytest.raises(ValidationFailed) as refused, db.transaction() as s:
        create_ticket(s, SYSTEM, TicketCreate(title="Logo", keywords=["bzdura"]))
    assert refused.value.field == "keywords"
    with pytest.raises(ValidationFailed) as refused, db.transaction() as s:
        update_ticket(s, SYSTEM, ticket_id, TicketPatch(keywords=["wydruk", "bzdura"]))
    assert refused.value.field == "keywords"
    with pytest.raises(ValidationFailed), db.transaction() as s:
        register_phone_event(s, SYSTEM, PhoneEventCreate(title="Telefon", keywords=["bzdura"]))


def test_carried_imported_and_curators_words_stay_allowed(db: Database) -> None:
    with db.transaction() as s:  # before the dictionary: any word
        old = create_ticket(s, SYSTEM, TicketCreate(title="Stary", keywords=["archiwum"]))
        imported = create_ticket(
            s, SYSTEM, TicketCreate(title="Import", keywords=["historia"]), external_id="imp-1"
        )
        event = register_phone_event(
            s, SYSTEM, PhoneEventCreate(title="Telefon", keywords=["rozmowa"])
        )
        old_id, imported_id, event_id = old.id, imported.id, event.id
    _dictionary(db)
    with db.transaction() as s:
        row = update_ticket(s, SYSTEM, old_id, TicketPatch(keywords=["archiwum", "druk"]))
        assert row.keywords == ["archiwum", "wydruk"]
        row = curate_ticket(s, SYSTEM, imported_id, CurationEdit(add_keywords=["nowe słowo"]))
        assert row.keywords == ["historia", "nowe słowo"]
        _, task = close_event(s, SYSTEM, event_id, CloseEventRequest(create_task=True))
        assert task is not None and task.keywords == ["rozmowa"]
    with db.transaction() as s:
        target = create_ticket(
            s, SYSTEM, TicketCreate(title="Cel", solution="Tak."), state="completed"
        )
        merged = merge_solution(s, SYSTEM, old_id, target.id)
        assert merged.keywords == ["archiwum", "wydruk"]
