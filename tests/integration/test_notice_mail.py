"""Automatic mail through the real outbox handlers to a real SMTP server (aiosmtpd): the
matrix decides, the footer carries a signed opt-out link, opting out stops the mail, and
do-not-contact wins over everything — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from api.bootstrap import Container, make_outbox_worker
from tests.integration.conftest import make_settings
from tests.services.smtp import SmtpServer
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow
from tickets.core.schemas import SYSTEM, TicketCreate
from tickets.core.services import create_ticket, transition_ticket
from tickets.directory.service import ClientIn, create_client
from tickets.notices import optout

LINK = re.compile(r"https?://\S+/notifications/opt-out\?\S+")


def _container(tmp_path: Path, db: Database, smtp: SmtpServer) -> Container:
    settings = make_settings(tmp_path / "data", db, smtp=smtp,
                             SEDNO_PUBLIC_URL="https://sedno.test")  # fmt: skip
    return Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "blobs"))


def _ticket(db: Database, email: str, client_id: int | None = None) -> int:
    with db.transaction() as s:
        ticket = create_ticket(
            s, SYSTEM, TicketCreate(title="Faktura KSeF", contact_email=email, client_id=client_id)
        )
        transition_ticket(s, SYSTEM, ticket.id, "analysing")
        return ticket.id


def _move(db: Database, ticket_id: int, to: str) -> None:
    with db.transaction() as s:
        transition_ticket(s, SYSTEM, ticket_id, to)


def _not_sent(db: Database, ticket_id: int) -> list[str]:
    with db.read() as s:
        return [h.note for h in s.scalars(select(TicketHistoryRow).where(
            TicketHistoryRow.ticket_id == ticket_id, TicketHistoryRow.action == "mail_not_sent"))]  # fmt: skip


def test_the_footer_link_opts_the_address_out(
    db: Database, tmp_path: Path, smtp: SmtpServer
) -> None:
    container = _container(tmp_path, db, smtp)
    worker = make_outbox_worker(container)
    ticket_id = _ticket(db, "jan@klient.pl")
    _move(db, ticket_id, "in_progress")  # ZS mails its contact on in_progress (the matrix)
    worker.drain()
    (mail,) = smtp.wait_for(1)
    body = mail.message.get_content()
    (url,) = LINK.findall(body)
    assert url.startswith("https://sedno.test/notifications/opt-out?")
    query = parse_qs(urlparse(url).query)
    assert query["a"] == ["jan@klient.pl"]
    secret = container.settings.secret_key
    assert optout.valid_signature(secret, "jan@klient.pl", query["s"][0])
    assert not optout.valid_signature(secret, "ktos@klient.pl", query["s"][0])

    with db.transaction() as s:
        optout.set_opt_out(s, "jan@klient.pl", True)
    _move(db, ticket_id, "completed")
    worker.drain()
    assert len(smtp.messages) == 1
    assert any("wypisał się" in note for note in _not_sent(db, ticket_id))


def test_do_not_contact_wins_over_an_opt_in(db: Database, tmp_path: Path, smtp: SmtpServer) -> None:
    container = _container(tmp_path, db, smtp)
    with db.transaction() as s:
        client = create_client(s, ClientIn(name="Zakład Zakazany", do_not_contact=True))
        optout.set_opt_out(s, "szef@zakazany.pl", False)  # never opted out, or opted back in
        client_id = client.id
    ticket_id = _ticket(db, "szef@zakazany.pl", client_id)
    _move(db, ticket_id, "in_progress")
    make_outbox_worker(container).drain()
    assert smtp.messages == []
    notes = " ".join(_not_sent(db, ticket_id)) or " ".join(
        h for h in _history_notes(db, ticket_id) if "Zakaz kontaktu" in h
    )
    assert "Zakaz kontaktu" in notes


def _history_notes(db: Database, ticket_id: int) -> list[str]:
    with db.read() as s:
        return [h.note for h in s.scalars(
            select(TicketHistoryRow).where(TicketHistoryRow.ticket_id == ticket_id))]  # fmt: skip
