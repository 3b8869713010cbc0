"""An assignment answered from its mail, end to end: the real outbox sends the mail to a real
SMTP server (aiosmtpd), its signed links are clicked through the HTTP app, and the
assignee's replies come back through a real Dovecot mailbox and the IMAP worker. On SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import msgspec
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from api.bootstrap import Container, make_outbox_worker
from intake.imap import append_message
from intake.orm import IntakeCallRow
from tests.integration.assignment_helpers import add_people
from tests.integration.conftest import make_mail, make_settings
from tests.integration.mailbox_helpers import scan_mailbox
from tests.services.apps import app_fixture, serving
from tests.services.smtp import Received, SmtpServer
from tickets.assignments import links
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.orm import TicketMessageRow, UserRow
from tickets.core.schemas import Actor, TicketCreate, TicketPatch, TicketView
from tickets.core.services import create_ticket, update_ticket
from tickets.core.settings import ImapSettings, Settings
from tickets.core.views import ticket_view
from tickets.directory.service import ClientIn, create_client

LINK = re.compile(
    r"^(Potwierdzam|Odrzucam): (https://sedno\.test/assignments/answer\?\S+)\r?$", re.M
)
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Desk(msgspec.Struct):
    client: TestClient  # type: ignore[type-arg]
    container: Container
    boss: Actor
    ania: Actor
    ania_token: str


app_client = app_fixture(make_settings)  # one started app for the module


@pytest.fixture
def desk(
    db: Database,
    tmp_path: Path,
    smtp: SmtpServer,
    mailbox: ImapSettings,
    app_client: TestClient,  # type: ignore[type-arg]
) -> Iterator[Desk]:
    settings = make_settings(tmp_path / "data", db, imap=mailbox, smtp=smtp,
                             SEDNO_PUBLIC_URL="https://sedno.test")  # fmt: skip
    people = add_people(db, "ania")
    container = Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "blobs"))
    with serving(app_client, container) as client:
        yield Desk(client=client, container=container, boss=people["kierownik"].actor,
                   ania=people["ania"].actor, ania_token=people["ania"].token)  # fmt: skip


def _assign(desk: Desk, smtp: SmtpServer, client_id: int | None = None) -> tuple[int, Received]:
    """The manager gives Ania a ticket; the outbox mails her."""
    with desk.container.db.transaction() as s:
        ticket = create_ticket(s, desk.boss, TicketCreate(
            title="Błąd KSeF przy wysyłce faktury", lead_consultant_id=desk.ania.user_id,
            client_id=client_id))  # fmt: skip
        ticket_id = ticket.id
    make_outbox_worker(desk.container).drain()
    (mail,) = [m for m in smtp.wait_for(1) if any(r.startswith("ania@") for r in m.rcpt_tos)]
    return ticket_id, mail


def _links(mail: Received) -> dict[str, str]:
    return {word: url for word, url in LINK.findall(mail.message.get_content())}


def _view(desk: Desk, ticket_id: int) -> TicketView:
    with desk.container.db.read() as s:
        return ticket_view(s, ticket_id)


def _path(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}"


def test_the_mail_carries_signed_links_and_confirm_records_the_answer(
    desk: Desk, smtp: SmtpServer
) -> None:
    ticket_id, mail = _assign(desk, smtp)
    assert mail.message["Reply-To"] == "Pomoc Sedno <pomoc@sedno.test>"
    assert re.fullmatch(r"<sedno\.\d+\.\w+\.[0-9a-f]+@sedno\.test>", mail.message["Message-ID"])
    found = _links(mail)
    assert set(found) == {"Potwierdzam", "Odrzucam"}

    # Opening the link only asks (a mail scanner that follows links answers nothing) ...
    page = desk.client.get(_path(found["Potwierdzam"]))
    assert page.status_code == 200 and "Potwierdź, że je przejmujesz" in page.text
    assert _view(desk, ticket_id).assignment.state == "pending"  # type: ignore[union-attr]
    # ... the page's button answers; sending it twice changes nothing.
    for _ in range(2):
        sent = _submit(desk, page.text, found["Potwierdzam"])
        assert sent.status_code == 200 and "jest potwierdzony" in sent.text
    shown = desk.client.get(f"/api/tickets/{ticket_id}",
                            headers={"Authorization": f"Bearer {desk.ania_token}"}).json()  # fmt: skip
    assert shown["assignment"]["state"] == "confirmed"
    assert shown["assignment"]["answered_via"] == "link"
    assert shown["lead_consultant_id"] == desk.ania.user_id
    # Rejecting after confirming is refused, with a page that says why.
    late = desk.client.get(_path(found["Odrzucam"]))
    assert late.status_code == 409 and "Obowiązuje pierwsza odpowiedź" in late.text


def test_a_tampered_or_expired_link_gives_a_polish_error_page(desk: Desk, smtp: SmtpServer) -> None:
    ticket_id, mail = _assign(desk, smtp)
    url = _links(mail)["Potwierdzam"]
    tampered = desk.client.get(_path(url).replace("d=confirmed", "d=rejected"))
    assert tampered.status_code == 403
    assert "link jest nieprawidłowy" in tampered.text
    assignment_id = int(parse_qs(urlparse(url).query)["a"][0])
    settings = desk.container.settings
    month_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    old = links.answer_url("", settings.secret_key, assignment_id, "confirmed", month_ago)
    expired = desk.client.get(old)
    assert expired.status_code == 410 and "link wygasł" in expired.text
    assert desk.client.get("/assignments/answer?a=x&s=").status_code == 403
    assignment = _view(desk, ticket_id).assignment
    assert assignment is not None and assignment.state == "pending"


def test_reject_asks_for_a_reason_and_tells_the_assigner(desk: Desk, smtp: SmtpServer) -> None:
    ticket_id, mail = _assign(desk, smtp)
    form = desk.client.get(_path(_links(mail)["Odrzucam"]))
    assert form.status_code == 200 and "Możesz podać powód" in form.text
    assert _view(desk, ticket_id).assignment.state == "pending"  # type: ignore[union-attr]
    sent = _submit(desk, form.text, _links(mail)["Odrzucam"], reason="Nie znam modułu Kadry")
    assert sent.status_code == 200 and "jest odrzucony" in sent.text  # after the redirect
    view = _view(desk, ticket_id)
    assert view.assignment is not None
    assert (view.assignment.state, view.assignment.reason) == ("rejected", "Nie znam modułu Kadry")
    assert view.lead_consultant_id is None
    make_outbox_worker(desk.container).drain()
    (told,) = [m for m in smtp.wait_for(2) if "kierownik@erp-serwis.pl" in m.rcpt_tos]
    assert told.message["Subject"].startswith(f"[{view.number}] Odrzucono przydział")
    assert "Nie znam modułu Kadry" in told.message.get_content()


def _submit(desk: Desk, form: str, url: str, **fields: str) -> Any:
    """Send the link page's form, as its button does."""
    token = CSRF.search(form)
    assert token is not None
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    return desk.client.post(
        "/assignments/answer", data={**query, "_csrf_token": token.group(1), **fields}
    )


def _reply(mail: Received, body: str, **headers: str) -> bytes:
    return make_mail(
        sender="ania@erp-serwis.pl", name="Ania Konsultant", subject=f"Re: {mail.message['Subject']}",
        body=body, headers={"In-Reply-To": mail.message["Message-ID"],
                            "References": mail.message["Message-ID"], **headers},
    )  # fmt: skip


def _calls(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(IntakeCallRow)) or 0)


def test_a_reply_by_mail_rejects_and_out_of_office_mail_answers_nothing(
    desk: Desk, smtp: SmtpServer, mailbox: ImapSettings
) -> None:
    ticket_id, mail = _assign(desk, smtp)
    settings: Settings = desk.container.settings
    db = desk.container.db
    append_message(mailbox, _reply(mail, "Jestem poza biurem do poniedziałku.",
                                   **{"Auto-Submitted": "auto-replied"}))  # fmt: skip
    # An auto-reply without the header, known only by its wording, opens with "Nie".
    append_message(mailbox, _reply(mail, "Nie będę dostępna, jestem na urlopie do 7.12."))
    scan_mailbox(settings, db)
    assert _view(desk, ticket_id).assignment.state == "pending"  # type: ignore[union-attr]
    quoted = "\n".join(f"> {line}" for line in mail.message.get_content().splitlines())
    append_message(mailbox, _reply(
        mail, f"Odrzucam - jestem na urlopie do piątku.\n\n-- \nAnia\n\n{quoted}"))  # fmt: skip
    scan_mailbox(settings, db)
    view = _view(desk, ticket_id)
    assert view.assignment is not None
    assert (view.assignment.state, view.assignment.answered_via) == ("rejected", "mail")
    assert view.assignment.reason == "jestem na urlopie do piątku."
    assert view.lead_consultant_id is None
    assert _calls(db) == 0  # neither mail became a pending call
    with db.read() as s:
        own = s.scalars(select(TicketMessageRow).where(
            TicketMessageRow.ticket_id == ticket_id, TicketMessageRow.direction == "note"))  # fmt: skip
        assert [(m.user_id, m.body_text.split("\n")[0]) for m in own] == [
            (desk.ania.user_id, "Odrzucam - jestem na urlopie do piątku.")
        ]
    make_outbox_worker(desk.container).drain()
    assert any("kierownik@erp-serwis.pl" in m.rcpt_tos for m in smtp.wait_for(2))


def test_a_reply_that_decides_nothing_is_kept_then_one_by_number_confirms(
    desk: Desk, smtp: SmtpServer, mailbox: ImapSettings
) -> None:
    ticket_id, mail = _assign(desk, smtp)
    settings: Settings = desk.container.settings
    db = desk.container.db
    append_message(mailbox, _reply(mail, "Zadzwonię najpierw do klienta."))
    scan_mailbox(settings, db)
    assert _view(desk, ticket_id).assignment.state == "pending"  # type: ignore[union-attr]
    number = _view(desk, ticket_id).number
    # A new mail, no In-Reply-To, only the number in the subject: Ania is the assignee.
    append_message(mailbox, make_mail(sender="ania@erp-serwis.pl",
                                      subject=f"[{number}] przydział", body="OK, biorę."))  # fmt: skip
    scan_mailbox(settings, db)
    view = _view(desk, ticket_id)
    assert view.assignment is not None and view.assignment.state == "confirmed"
    assert _calls(db) == 0
    bodies = [m.body_text.strip() for m in view.messages if m.direction == "note"]
    assert bodies == ["Zadzwonię najpierw do klienta.", "OK, biorę."]


def test_a_link_of_a_ticket_taken_back_says_so(desk: Desk, smtp: SmtpServer) -> None:
    ticket_id, mail = _assign(desk, smtp)
    with desk.container.db.transaction() as s:  # the manager takes the ticket himself
        update_ticket(s, desk.boss, ticket_id, TicketPatch(lead_consultant_id=desk.boss.user_id))
    for word in ("Odrzucam", "Potwierdzam"):
        page = desk.client.get(_path(_links(mail)[word]))
        assert page.status_code == 409
        assert "nie czeka już na odpowiedź" in page.text
    view = _view(desk, ticket_id)
    assert view.lead_consultant_id == desk.boss.user_id
    assert view.assignment is not None and view.assignment.state == "pending"


def test_a_do_not_contact_client_does_not_stop_the_mail_to_staff(
    desk: Desk, smtp: SmtpServer
) -> None:
    with desk.container.db.transaction() as s:
        client = create_client(s, ClientIn(name="Zakład Zakazany", do_not_contact=True))
        client_id = client.id
    ticket_id, mail = _assign(desk, smtp, client_id=client_id)
    assert set(_links(mail)) == {"Potwierdzam", "Odrzucam"}
    assert not [h for h in _view(desk, ticket_id).history if h.action == "mail_not_sent"]


def test_a_colleague_at_the_desk_s_own_domain_answers_too(
    desk: Desk, smtp: SmtpServer, mailbox: ImapSettings
) -> None:
    """Their mail client stamps Message-IDs with the desk's domain, which alone reads as a
    loop; the assignee's reply to the assignment still answers it."""
    with desk.container.db.transaction() as s:
        user = s.get(UserRow, desk.ania.user_id)
        assert user is not None
        user.email = "ania@sedno.test"
    ticket_id, mail = _assign(desk, smtp)
    append_message(mailbox, make_mail(
        sender="ania@sedno.test", subject=f"Re: {mail.message['Subject']}", body="Potwierdzam",
        message_id="a1b2c3@sedno.test", headers={"In-Reply-To": mail.message["Message-ID"]}))  # fmt: skip
    scan_mailbox(desk.container.settings, desk.container.db)
    assignment = _view(desk, ticket_id).assignment
    assert assignment is not None and assignment.state == "confirmed"
