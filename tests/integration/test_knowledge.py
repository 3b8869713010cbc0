"""Only solved knowledge is searchable: what reaches the index, the similar panel and reuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.container import Container
from search.ports import SearchRequest, SimilarRequest
from search.sync import reindex_all, sync_tickets
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketRow
from tickets.core.schemas import SYSTEM, CloseEventRequest, PhoneEventCreate, TicketCreate
from tickets.core.services import (
    close_event,
    create_ticket,
    record_reuse,
    register_phone_event,
    transition_ticket,
)
from tickets.core.settings import load_settings
from tickets.domain.errors import ValidationFailed

PROBLEM = "Wydruk faktury bez logo po aktualizacji"


@pytest.fixture
def container(db: Database, tmp_path: Path) -> Iterator[Container]:
    settings = load_settings(
        {"SEDNO_DATA_DIR": str(tmp_path / "data"), "SEDNO_DATABASE_URL": db.url}
    )
    c = Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "data" / "blobs"))
    yield c
    c.close()


def _ticket(s, title: str, solution: str, **kw: object) -> TicketRow:  # type: ignore[no-untyped-def]
    return create_ticket(
        s,
        SYSTEM,
        TicketCreate(title=title, description=PROBLEM, solution=solution),
        state=str(kw.get("state", "completed")),
        resolution=kw.get("resolution", "resolved"),  # type: ignore[arg-type]
    )


def _indexed(container: Container) -> set[int]:
    hits = container.search.search(SearchRequest(q="faktury logo", limit=50)).hits
    return {h.id for h in hits}


def test_only_tickets_that_answered_are_knowledge(container: Container) -> None:
    with container.db.transaction() as s:
        solved = _ticket(s, "Brak logo na fakturze", "Wgrać logo w Konfiguracji → Wydruki.")
        rejected = _ticket(s, "Logo na fakturze PDF", "Nie planujemy.", resolution="rejected")
        no_solution = _ticket(s, "Logo faktury znika", "   ")
        cancelled = _ticket(s, "Logo faktury", "Wgrać logo.", state="cancelled")
        on_call = register_phone_event(s, SYSTEM, PhoneEventCreate(title="Logo faktury: telefon"))
        close_event(s, SYSTEM, on_call.id, CloseEventRequest(solution="Wgrać logo ponownie."))
        handed = register_phone_event(
            s, SYSTEM, PhoneEventCreate(title="Faktury bez logo", description=PROBLEM)
        )
        _, task = close_event(
            s,
            SYSTEM,
            handed.id,
            CloseEventRequest(create_task=True, solution="Przekazuję do analizy: brak logo."),
        )
        assert task is not None
        ids = [solved.id, rejected.id, no_solution.id, cancelled.id, on_call.id, handed.id, task.id]
    with container.db.read() as s:
        event = s.get(TicketRow, handed.id)
        created = s.get(TicketRow, task.id)
        assert event is not None and created is not None
        # The hand-over note is not the event's solution: it travels to the task.
        assert event.solution == "" and "Przekazuję do analizy" in created.notes
        called = s.get(TicketRow, on_call.id)
        assert called is not None and called.resolution == "resolved"

    sync_tickets(container, ids)
    assert _indexed(container) == {solved.id, rejected.id, on_call.id}
    hits = container.search.search(SearchRequest(q="faktury logo", limit=50)).hits
    assert {h.id: h.resolution for h in hits}[rejected.id] == "rejected"
    similar = container.search.similar(SimilarRequest(title="Faktura bez logo", text=PROBLEM))
    assert {h.id for h in similar.hits} <= {solved.id, rejected.id, on_call.id}

    with container.db.transaction() as s:
        with pytest.raises(ValidationFailed) as raised:
            record_reuse(s, SYSTEM, task.id, handed.id)
        assert raised.value.field == "source_ticket_id"
        transition_ticket(s, SYSTEM, task.id, "in_progress")
        transition_ticket(s, SYSTEM, task.id, "completed", solution="Nowy wzorzec wydruku z logo.")
    sync_tickets(container, [task.id, handed.id])
    assert _indexed(container) == {solved.id, rejected.id, on_call.id, task.id}

    # A rebuild from the database keeps to the same tickets.
    assert reindex_all(container) == 4
    assert _indexed(container) == {solved.id, rejected.id, on_call.id, task.id}
