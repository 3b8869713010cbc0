"""`sedno demo` tells the product's story: distinct problems, every state, a living queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from api.bootstrap import Container, build_container
from intake.orm import IntakeCallRow
from search.analysis import folded_text
from search.keywords import form_index
from tickets.core.db import Database
from tickets.core.orm import ClientRow, ContactRow, TicketRow
from tickets.core.settings import load_settings
from tickets.handoff.orm import DevOpsHandoffRow
from tools.demo import CLIENTS, WARSAW, load_demo, load_problems, nip_is_valid


@pytest.fixture
def demo(db: Database, tmp_path: Path) -> Iterator[Container]:
    settings = load_settings(
        {"SEDNO_DATA_DIR": str(tmp_path / "data"), "SEDNO_DATABASE_URL": db.url}
    )
    container = build_container(settings, prepare="none")
    print(load_demo(container))
    try:
        yield container
    finally:
        container.close()


def test_problems_are_distinct_and_span_modules() -> None:
    problems = load_problems()
    assert len(problems) >= 60
    assert len({p.titles[0].casefold() for p in problems}) == len(problems)
    assert len({p.solution for p in problems}) == len(problems)
    assert len({p.module for p in problems}) >= 10
    assert all(len(p.titles) >= 2 and p.descriptions for p in problems)
    assert all(nip_is_valid(c.nip) for c in CLIENTS)


def test_demo_tells_the_story_once(demo: Container) -> None:
    with demo.db.read() as s:
        tickets = list(s.scalars(select(TicketRow)))
        states = {(t.definition_code, t.state) for t in tickets}
        for state in ("reported", "analysing", "in_progress", "completed", "cancelled"):
            assert ("ZS", state) in states, state
        assert {t.definition_code for t in tickets} >= {"ZS", "ZW", "KOM", "SZ"}
        solved = [t for t in tickets if t.state == "completed" and t.definition_code == "ZS"]
        assert len({t.title for t in solved}) >= 100  # reworded, not copies with a name added
        assert any(t.resolution == "rejected" for t in solved)
        assert all(t.licence and t.client_id and t.contact_id for t in solved)
        for t in tickets:
            for at in (t.reported_at, t.completed_at):
                if at is None:
                    continue
                local = at.astimezone(WARSAW)
                assert local.weekday() < 5 and 8 <= local.hour < 16, (t.number, local)
        handoffs = list(s.scalars(select(DevOpsHandoffRow)))
        assert len(handoffs) == 1
        assert s.get(TicketRow, handoffs[0].ticket_id).state == "in_progress"  # type: ignore[union-attr]

        clients = list(s.scalars(select(ClientRow)))
        assert sum(c.do_not_contact for c in clients) == 1
        assert all(c.email and c.tax_id and c.licences for c in clients)
        contacts = list(s.scalars(select(ContactRow)))
        assert {c.client_id for c in contacts} == {c.id for c in clients}
        assert all(c.email and c.phone for c in contacts)

        calls = list(s.scalars(select(IntakeCallRow)))
        by_kind = {(c.status, c.classification) for c in calls}
        assert ("pending", "ham") in by_kind
        assert any(c.classification == "spam" for c in calls)
        assert any(c.status == "pending" and c.classification == "auto_reply" for c in calls)
        assert any(c.status == "pending" and c.classification == "bounce" for c in calls)

        # The console refuses keywords outside the dictionary: the demo's are all in it.
        forms = form_index(s)
        assert all(folded_text(k) in forms for t in tickets for k in t.keywords or [])
        assert forms[folded_text("Krajowy System e-Faktur")].name == "KSeF"
    assert load_demo(demo) == "demo data already loaded"
