"""A week of tickets, reuses, searches and keywords → the curation report's numbers."""

from __future__ import annotations

import datetime as dt

from search.keywords import KeywordIn, create_keyword
from tickets.accounts.auth import create_user
from tickets.core.db import Database
from tickets.core.orm import ReuseRow, TicketRow
from tickets.core.schemas import SYSTEM, Actor, CloseEventRequest, PhoneEventCreate, TicketCreate
from tickets.core.services import close_event, create_ticket, register_phone_event
from tickets.curation.chart import render_week_chart, report_csv
from tickets.curation.orm import KbLinkRow
from tickets.curation.search_log import log_search_query
from tickets.curation.service import (
    CurationEdit,
    build_report,
    curate_ticket,
    curation_queue,
    merge_solution,
)
from tickets.curation.weeks import week_bounds

WEEK = "2026-W10"  # Monday 2 March – Sunday 8 March 2026, Warsaw = UTC+1
UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def solved(s, title: str, description: str, done: dt.datetime, **kw: object) -> TicketRow:  # type: ignore[no-untyped-def]
    resolution = kw.pop("resolution", "resolved")
    state = kw.pop("state", "completed")
    kw.setdefault("solution", f"Rozwiązanie: {title}")
    return create_ticket(
        s, SYSTEM, TicketCreate(title=title, description=description, **kw),  # type: ignore[arg-type]
        state=str(state), completed_at=done, resolution=str(resolution),
    )  # fmt: skip


def test_week_report_numbers(db: Database) -> None:
    start, end = week_bounds(WEEK)
    assert start == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert end == dt.datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
    with db.transaction() as s:
        curator, _ = create_user(s, login="kurator", name="Kurator", role="curator")
        consultant, _ = create_user(s, login="konsultant", name="K", role="consultant")
        t1 = solved(
            s,
            "Wysyłka do KSeF odrzucona",
            "Błąd schematu FA(2) przy wysyłce",
            at(3, 9),
            module="Handel",
            keywords=["KSeF"],
            kb_links=["https://kb.example.pl/1"],
        )
        t2 = solved(
            s,
            "Nie drukuje się faktura zbiorcza",
            "Wydruk faktury zbiorczej pusty po aktualizacji",
            at(4, 10),
            module="Handel",
        )
        t3 = solved(
            s,
            "Faktura zbiorcza nie drukuje się",
            "Po aktualizacji wydruk faktury zbiorczej jest pusty",
            at(5, 11),
            module="Handel",
            keywords=["faktura"],
            solution="Zmienić wzorzec wydruku.",
        )
        solved(
            s,
            "Odrzucone: urlop",
            "Nie nasz problem",
            at(5, 12),
            module="Kadry Płace",
            kb_links=["https://kb.example.pl/2"],
            resolution="rejected",
        )
        t5 = solved(
            s,
            "Lista płac nie nalicza ZUS",
            "Składki ZUS zerowe na liście płac",
            at(6, 8),
            module="Kadry Płace",
            keywords=["ZUS"],
        )
        solved(
            s, "Poprzedni tydzień", "Import wyciągu", at(1, 22, 30), module="Handel"
        )  # 23:30 local, W09
        solved(s, "W toku", "jeszcze nie", at(4, 9), module="Handel", state="in_progress")
        t_in = solved(
            s,
            "Zamknięcie okresu",
            "Okres księgowy się nie zamyka",
            at(1, 23, 30),
            module="Księgowość",
        )  # Monday 00:30 local: W10
        solved(s, "Następny tydzień", "Deklaracja VAT", at(8, 23, 30), module="Księgowość")  # W11
        # Not knowledge, so not resolved: no solution, cancelled, a call handed over to a task.
        unsolved = solved(s, "Bez rozwiązania", "Zamknięte bez opisu", at(4, 9), solution="  ")
        solved(s, "Anulowane", "Klient się rozmyślił", at(4, 9), state="cancelled")
        call = register_phone_event(
            s, SYSTEM, PhoneEventCreate(title="Telefon: nie działa KSeF", module="Handel")
        )
        call_closed, _ = close_event(
            s,
            SYSTEM,
            call.id,
            CloseEventRequest(create_task=True, solution="Przekazuję do analizy."),
        )
        call_closed.completed_at = at(4, 9)
        curate_ticket(
            s, Actor(curator.id, "Kurator", "curator"), t5.id, CurationEdit(verified=True)
        )
        for when, source in [(at(3, 12), t1), (at(4, 12), t1), (at(5, 12), t3), (at(1, 12), t3)]:
            s.add(ReuseRow(ticket_id=t2.id, source_ticket_id=source.id, at=when))
            source.reuse_count += 1
        new_kw = create_keyword(
            s, SYSTEM, KeywordIn(name="KSeF", synonyms=["Krajowy System e-Faktur"])
        )
        new_kw.created_at = at(4, 8)
        old_kw = create_keyword(s, SYSTEM, KeywordIn(name="ZUS"))
        old_kw.created_at = at(1, 8)
        s.add(
            KbLinkRow(
                url_hash="x",
                url="https://kb.example.pl/1",
                ticket_ids=[t1.id],
                status="broken",
                http_status=404,
                error="HTTP 404",
                checked_at=at(7, 3),
                broken_since=at(7, 3),
            )
        )
        s.add(
            KbLinkRow(
                url_hash="y",
                url="https://kb.example.pl/ok",
                ticket_ids=[t1.id],
                status="ok",
                http_status=200,
                checked_at=at(7, 3),
            )
        )
    # Searches: two users found nothing for one query; one typed a query letter by letter.
    log_search_query(db, curator.id, "fakturka zbiorcza", 0, at=at(3, 10))
    log_search_query(db, consultant.id, "Fakturka  zbiorcza", 0, at=at(4, 10))
    for i, typed in enumerate(["kor", "kore", "korekta", "korekta xyz"]):
        log_search_query(db, consultant.id, typed, 0, at=at(5, 10) + dt.timedelta(seconds=i))
    log_search_query(db, consultant.id, "ksef", 3, at=at(5, 11))
    log_search_query(db, consultant.id, "stare", 0, at=at(1, 10))  # W09

    with db.read() as s:
        report = build_report(s, WEEK)
    assert report.week == WEEK
    assert report.resolved == 5
    assert unsolved.id not in {t.id for t in report.missing_keywords}
    assert (report.with_keywords, report.with_kb_links, report.verified) == (3, 1, 2)
    assert [t.id for t in report.missing_keywords] == [t_in.id, t2.id]
    assert [t.id for t in report.missing_kb_links] == [t_in.id, t2.id, t3.id, t5.id]
    assert [[t.id for t in g.tickets] for g in report.duplicate_groups] == [[t2.id, t3.id]]
    assert [(r.ticket.id, r.reuses, r.reuse_count) for r in report.top_reused] == [
        (t1.id, 2, 2),
        (t3.id, 1, 2),
    ]
    assert [(q.query, q.count, q.users) for q in report.zero_result_queries] == [
        ("Fakturka zbiorcza", 2, 2), ("korekta xyz", 1, 1)]  # fmt: skip
    assert [k.name for k in report.new_keywords] == ["KSeF"]
    assert [(b.url, b.http_status, [t.number for t in b.tickets]) for b in report.broken_links] == [
        ("https://kb.example.pl/1", 404, [t1.number])]  # fmt: skip
    assert [(m.module, m.resolved) for m in report.by_module] == [
        ("Handel", 3), ("Kadry Płace", 1), ("Księgowość", 1)]  # fmt: skip

    with db.read() as s:
        queue = curation_queue(s, WEEK)
    assert [i.missing for i in queue.items if i.ticket.id == unsolved.id] == [
        ["keywords", "solution", "kb_links", "verification"]
    ]
    assert call_closed.id not in {i.ticket.id for i in queue.items}

    csv_text = report_csv(report)
    assert "summary,resolved,5,2026-W10" in csv_text and f"missing_keywords,{t2.number}" in csv_text
    svg = render_week_chart(report)
    assert svg.startswith("<svg") and "<script" not in svg and "Zweryfikowane" in svg


def test_queue_and_merge_into_another_solution(db: Database) -> None:
    with db.transaction() as s:
        curator, _ = create_user(s, login="kurator", name="Kurator", role="curator")
        actor = Actor(curator.id, "Kurator", "curator")
        a = solved(
            s,
            "Nie drukuje się faktura zbiorcza",
            "Wydruk faktury zbiorczej pusty po aktualizacji",
            at(4, 10),
            module="Handel",
            solution="Przywrócić wzorzec.",
            kb_links=["https://kb.example.pl/7"],
        )
        b = solved(
            s,
            "Faktura zbiorcza nie drukuje się",
            "Po aktualizacji wydruk faktury zbiorczej jest pusty",
            at(5, 11),
            module="Handel",
            keywords=["faktura"],
            solution="Zmienić wzorzec wydruku.",
        )
        c = solved(
            s,
            "Lista płac nie nalicza ZUS",
            "Składki ZUS zerowe",
            at(6, 8),
            keywords=["ZUS"],
            solution="Uzupełnić kod tytułu ubezpieczenia.",
            kb_links=["https://kb.example.pl/8"],
        )
    with db.read() as s:
        queue = curation_queue(s, WEEK)
    assert {i.ticket.id: i.missing for i in queue.items} == {
        a.id: ["keywords"], b.id: ["kb_links", "verification"]}  # fmt: skip
    assert c.id not in {i.ticket.id for i in queue.items}
    assert [[t.id for t in g.tickets] for g in queue.duplicate_groups] == [[a.id, b.id]]

    with db.transaction() as s:
        merge_solution(s, actor, b.id, a.id)
    with db.read() as s:
        target, source = s.get(TicketRow, a.id), s.get(TicketRow, b.id)
        assert target is not None and source is not None
        assert (
            "Przywrócić wzorzec." in target.solution
            and "Zmienić wzorzec wydruku." in target.solution
        )
        assert target.keywords == ["faktura"] and target.kb_links == ["https://kb.example.pl/7"]
        assert target.number in source.solution
        queue = curation_queue(s, WEEK)
        report = build_report(s, WEEK)
    assert queue.duplicate_groups == [] and report.duplicate_groups == []
    assert {i.ticket.id for i in queue.items} == set()  # a got keywords; b is merged away
