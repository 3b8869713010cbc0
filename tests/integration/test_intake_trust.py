"""Mail intake a desk can trust, end to end: mail arrives in a real Dovecot mailbox, the
intake worker reads it, the outbox sends through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import pytest
from sqlalchemy import select

from intake.ack import SEND_MAIL_JOB
from intake.context import IntakeContext
from intake.imap import append_message
from intake.mailer import make_send_mail_handler
from intake.orm import AddressStatusRow, IntakeCallRow
from intake.queue import accept_call, get_call, move_message_out
from intake.settings import IntakeSettings
from tests.integration.conftest import make_mail, make_settings
from tests.integration.mailbox_helpers import scan_mailbox
from tests.services.smtp import Received, SmtpServer
from tickets.core.db import Database
from tickets.core.orm import TicketHistoryRow, TicketMessageRow, TicketRow
from tickets.core.outbox import OutboxWorker, enqueue
from tickets.core.schemas import SYSTEM, Actor
from tickets.core.services import transition_ticket
from tickets.core.settings import ImapSettings, Settings
from tickets.directory.service import ClientIn, ContactIn, LicenceIn, create_client, create_contact

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
AGENT = Actor(user_id=None, name="Anna Konsultantka", role="agent")


class Desk:
    """A mailbox, a database, an SMTP server and the intake worker between them."""

    def __init__(self, settings: Settings, db: Database, mailbox: ImapSettings, smtp: SmtpServer):
        self.settings = settings
        self.db = db
        self.mailbox = mailbox
        self.smtp = smtp
        self.ctx = IntakeContext(settings)

    def deliver(self, *raws: bytes) -> None:
        """Mail arrives in the shared mailbox; the worker takes it in."""
        for raw in raws:
            append_message(self.mailbox, raw)
        scan_mailbox(self.settings, self.db, self.ctx)

    def send(self) -> list[Received]:
        """The outbox sends what is due, through the production `mail.send` handler."""
        handler = make_send_mail_handler(self.settings, self.db)
        OutboxWorker(self.db, {SEND_MAIL_JOB: handler}).drain()
        time.sleep(0.2)
        return self.smtp.messages

    def calls(self) -> list[IntakeCallRow]:
        with self.db.read() as s:
            rows = list(s.scalars(select(IntakeCallRow).order_by(IntakeCallRow.id)))
            for row in rows:
                s.expunge(row)
            return rows

    def history(self, ticket_id: int, action: str) -> list[str]:
        with self.db.read() as s:
            return list(
                s.scalars(
                    select(TicketHistoryRow.note).where(
                        TicketHistoryRow.ticket_id == ticket_id, TicketHistoryRow.action == action
                    )
                )
            )

    def contact(self, email: str, *, dnc: bool = False, licence: str | None = None) -> int:
        with self.db.transaction() as s:
            client = create_client(
                s,
                ClientIn(
                    name=f"Klient {uuid.uuid4().hex[:6]}",
                    do_not_contact=dnc,
                    licences=[LicenceIn(number=licence)] if licence else [],
                ),
            )
            create_contact(s, ContactIn(name="Ewa Nowak", email=email, client_id=client.id))
            return client.id

    def ticket_from(self, email: str, subject: str = "Korekta faktury") -> tuple[int, str, str]:
        """(ticket id, number, Message-ID of its acknowledgement) of a known contact's mail."""
        self.contact(email)
        self.deliver(make_mail(sender=email, subject=subject))
        (ack,) = [m for m in self.send() if m.rcpt_tos == [email]]
        with self.db.read() as s:
            ticket = s.scalars(select(TicketRow).order_by(TicketRow.id.desc())).first()
            assert ticket is not None
            return ticket.id, ticket.number, ack.message["Message-ID"]


@pytest.fixture
def desk(
    tmp_path: Path, sqlite_db: Database, mailbox: ImapSettings, smtp: SmtpServer
) -> Iterator[Desk]:
    settings = make_settings(tmp_path / "data", sqlite_db, imap=mailbox, smtp=smtp)
    yield Desk(settings, sqlite_db, mailbox, smtp)


def _complete(desk: Desk, ticket_id: int) -> None:
    with desk.db.transaction() as s:
        transition_ticket(s, SYSTEM, ticket_id, "in_progress")
        transition_ticket(s, SYSTEM, ticket_id, "completed", resolution="resolved")


def _report(kind: str, parts: list[tuple[str, str]], *, sender: str, subject: str) -> bytes:
    """A multipart/report (RFC 6522) with the given (content type, content) parts."""
    boundary = "=_report_" + uuid.uuid4().hex[:8]
    lines = [
        f"From: {sender}",
        "To: pomoc@sedno.test",
        f"Subject: {subject}",
        f"Date: {formatdate()}",
        f"Message-ID: <{uuid.uuid4().hex}@mx.example.net>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={kind}; boundary="{boundary}"',
        "",
    ]
    for ctype, content in parts:
        lines += [f"--{boundary}", f"Content-Type: {ctype}", "", content, ""]
    lines.append(f"--{boundary}--")
    return "\r\n".join(lines).encode()


def _automatic_messages(desk: Desk, ticket_id: int) -> list[TicketMessageRow]:
    with desk.db.read() as s:
        rows = list(
            s.scalars(
                select(TicketMessageRow).where(
                    TicketMessageRow.ticket_id == ticket_id, TicketMessageRow.automatic.is_(True)
                )
            )
        )
        for row in rows:
            s.expunge(row)
        return rows


def _state(desk: Desk, ticket_id: int) -> str:
    with desk.db.read() as s:
        ticket = s.get(TicketRow, ticket_id)
        assert ticket is not None
        return ticket.state


# 1. Threading before spam ------------------------------------------------------------------


def test_a_spammy_reply_from_the_contact_joins_its_ticket_and_can_be_moved_out(desk: Desk) -> None:
    ticket_id, number, ack_id = desk.ticket_from("ewa@zlotyklos.pl")
    desk.deliver(
        make_mail(
            sender="ewa@zlotyklos.pl",
            subject=f"Re: [{number}] Korekta faktury",
            body=f"W załączeniu log: {GTUBE}",
            headers={"In-Reply-To": ack_id, "References": ack_id},
        )
    )
    with desk.db.read() as s:
        message = s.scalars(
            select(TicketMessageRow).where(
                TicketMessageRow.ticket_id == ticket_id, TicketMessageRow.subject.startswith("Re:")
            )
        ).one()
        assert message.spam_score == 1.0 and message.sender_flag == ""
        message_id = message.id
    assert len(desk.calls()) == 1  # no call held in the queue
    with desk.db.transaction() as s:
        call = move_message_out(s, AGENT, ticket_id, message_id)
        call_id = call.id
    with desk.db.read() as s:
        assert s.get(TicketMessageRow, message_id) is None
        detail = get_call(s, call_id)
    assert (detail.status, detail.possible_ticket_id) == ("pending", ticket_id)
    assert desk.history(ticket_id, "mail_moved_out")


def test_a_stranger_quoting_a_message_id_is_attached_but_flagged(desk: Desk) -> None:
    _ticket_id, _number, ack_id = desk.ticket_from("ewa@zlotyklos.pl")
    desk.deliver(
        make_mail(sender="obcy@inna.pl", subject="Re: sprawa", headers={"In-Reply-To": ack_id})
    )
    with desk.db.read() as s:
        flagged = s.scalars(
            select(TicketMessageRow.sender_flag).where(TicketMessageRow.sender == "obcy@inna.pl")
        ).one()
    assert flagged == "nadawca spoza zgłoszenia"
    assert [m.rcpt_tos for m in desk.send()] == [["ewa@zlotyklos.pl"]]  # nothing to the stranger


# 2. Automatic mail never acts ----------------------------------------------------------------


def test_reports_and_out_of_office_attach_as_automatic_and_never_reopen(desk: Desk) -> None:
    ticket_id, number, ack_id = desk.ticket_from("ewa@zlotyklos.pl")
    _complete(desk, ticket_id)
    sent_before = len(desk.send())
    mdn = _report(
        "disposition-notification",
        [
            ("text/plain", "Your message was read on Tuesday."),
            (
                "message/disposition-notification",
                f"Final-Recipient: rfc822; ewa@zlotyklos.pl\r\nOriginal-Message-ID: {ack_id}\r\n"
                "Disposition: manual-action/MDN-sent-manually; displayed",
            ),
        ],
        sender="ewa@zlotyklos.pl",
        subject=f"Read: [{number}] Korekta faktury",
    )
    plain_bounce = make_mail(
        sender="MAILER-DAEMON@mx.zlotyklos.pl",
        subject="Mail delivery failed: returning message to sender",
        body=(
            "This message was created automatically by mail delivery software.\n"
            "A message that you sent could not be delivered to one or more of its recipients.\n"
            "  ewa@zlotyklos.pl\n    mailbox unavailable\n\n"
            f"------ This is a copy of the message, including all the headers. ------\n"
            f"Message-ID: {ack_id}\nSubject: [{number}] Korekta faktury\n"
        ),
        headers={"Return-Path": "<>"},
    )
    out_of_office = make_mail(
        sender="ewa@zlotyklos.pl",
        subject=f"Odp: [{number}] Korekta faktury — urlop",
        body="Dzień dobry,\njestem na urlopie do 15 grudnia. W pilnych sprawach proszę dzwonić.",
        headers={"In-Reply-To": ack_id},
    )
    desk.deliver(mdn, plain_bounce, out_of_office)
    automatic = _automatic_messages(desk, ticket_id)
    assert len(automatic) == 3
    assert _state(desk, ticket_id) == "completed"  # nothing reopened it
    assert len(desk.calls()) == 1  # and nothing became a call
    assert len(desk.send()) == sent_before  # nor sent anything
    with desk.db.read() as s:
        status = s.get(AddressStatusRow, "ewa@zlotyklos.pl")
        assert status is not None and status.bounces == 1


def test_a_complaint_and_a_bare_delivery_status_are_not_ham(desk: Desk) -> None:
    ticket_id, number, ack_id = desk.ticket_from("ewa@zlotyklos.pl")
    arf = _report(
        "feedback-report",
        [
            ("text/plain", "This is an email abuse report."),
            (
                "message/feedback-report",
                "Feedback-Type: abuse\r\nUser-Agent: YahooFBL/1.0\r\nVersion: 1\r\n"
                "Original-Rcpt-To: ewa@zlotyklos.pl",
            ),
            (
                "message/rfc822",
                f"From: pomoc@sedno.test\r\nTo: ewa@zlotyklos.pl\r\nMessage-ID: {ack_id}\r\n"
                f"Subject: [{number}] Korekta faktury\r\n\r\nDzień dobry",
            ),
        ],
        sender="feedback@arf.mail.yahoo.com",
        subject=f"FW: [{number}] Korekta faktury",
    )
    bare = (
        "From: postmaster@mx.example.net\r\nTo: pomoc@sedno.test\r\n"
        f"Subject: Delivery report\r\nDate: {formatdate()}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@mx.example.net>\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; kto@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    ).encode()
    desk.deliver(arf, bare)
    assert [m.automatic for m in _automatic_messages(desk, ticket_id)] == [True]
    (call,) = desk.calls()[1:]
    assert (call.classification, call.status) == ("bounce", "pending")
    with desk.db.read() as s:
        status = s.get(AddressStatusRow, "ewa@zlotyklos.pl")
        assert status is not None and status.complained_at is not None
    # From now on no automatic mail goes to her: the next call of hers gets no answer.
    desk.deliver(make_mail(sender="ewa@zlotyklos.pl", subject="Nowa sprawa"))
    sent = desk.send()
    assert [m.rcpt_tos for m in sent] == [["ewa@zlotyklos.pl"]]  # only the first ticket's ack
    with desk.db.read() as s:
        newest = s.scalars(select(TicketRow.id).order_by(TicketRow.id.desc())).first()
    assert newest is not None and newest != ticket_id
    assert any("skargę" in n for n in desk.history(newest, "acknowledgement"))


def test_repeated_bounces_stop_mail_to_an_address_until_its_owner_writes(desk: Desk) -> None:
    ticket_id, number, ack_id = desk.ticket_from("ewa@zlotyklos.pl")
    dsn = _report(
        "delivery-status",
        [
            ("text/plain", "Delivery to the following recipient failed permanently."),
            (
                "message/delivery-status",
                "Reporting-MTA: dns; mx.zlotyklos.pl\r\n\r\n"
                "Final-Recipient: rfc822; ewa@zlotyklos.pl\r\nAction: failed\r\nStatus: 5.2.2",
            ),
            ("text/rfc822-headers", f"Message-ID: {ack_id}\r\nFrom: pomoc@sedno.test"),
        ],
        sender="mailer-daemon@mx.zlotyklos.pl",
        subject="Undelivered Mail Returned to Sender",
    )
    for _ in range(3):
        desk.deliver(dsn.replace(b"@mx.example.net>", f"-{uuid.uuid4().hex}@x>".encode()))
    with desk.db.read() as s:
        status = s.get(AddressStatusRow, "ewa@zlotyklos.pl")
        assert status is not None and status.bounces == 3
    # A state notice queued for her is held back by the mail.send gate.
    with desk.db.transaction() as s:
        enqueue(
            s,
            SEND_MAIL_JOB,
            {
                "from": desk.settings.mail_from,
                "to": ["ewa@zlotyklos.pl"],
                "subject": f"[{number}] Zmiana stanu",
                "message_id": f"<n-{uuid.uuid4().hex}@sedno.test>",
                "text": "Stan: Zakończony",
                "ticket_id": ticket_id,
                "purpose": "notify_state",
            },
        )
    assert len(desk.send()) == 1  # the first ack only
    assert any("odbija pocztę" in n for n in desk.history(ticket_id, "mail_not_sent"))
    # She writes again: her mailbox works, the count starts over.
    desk.deliver(make_mail(sender="ewa@zlotyklos.pl", subject=f"[{number}] działa już"))
    with desk.db.read() as s:
        status = s.get(AddressStatusRow, "ewa@zlotyklos.pl")
        assert status is not None and status.bounces == 0


# 3. Do-not-contact covers every automatic mail ----------------------------------------------


def test_do_not_contact_blocks_the_acknowledgement_and_any_queued_mail(desk: Desk) -> None:
    desk.contact("zakaz@klient.pl", dnc=True)
    desk.deliver(make_mail(sender="zakaz@klient.pl", subject="Pytanie o licencję"))
    (call,) = desk.calls()
    assert call.status == "accepted" and call.ticket_id is not None
    notes = desk.history(call.ticket_id, "acknowledgement")
    assert any(n.startswith("nie wysłano: Zakaz kontaktu") for n in notes)
    # A digest or appointment mail queued by any other part of Sedno: the gate stops it too.
    with desk.db.transaction() as s:
        enqueue(
            s,
            SEND_MAIL_JOB,
            {
                "from": desk.settings.mail_from,
                "to": ["Zakaz <zakaz@klient.pl>"],
                "subject": "Termin wizyty",
                "message_id": f"<a-{uuid.uuid4().hex}@sedno.test>",
                "text": "Zapraszamy",
                "ticket_id": call.ticket_id,
                "purpose": "appointment",
            },
        )
    assert desk.send() == []
    blocked = desk.history(call.ticket_id, "mail_not_sent")
    assert blocked and blocked[0].startswith("nie wysłano: Zakaz kontaktu")


# 4. Tell the sender on arrival ---------------------------------------------------------------


def test_a_new_sender_is_told_at_once_in_their_language_and_later_the_number(desk: Desk) -> None:
    desk.deliver(
        make_mail(sender="nowy@firma.pl", subject="Błąd wydruku", body="Dzień dobry, nie drukuje."),
        make_mail(
            sender="john@company.com",
            subject="Printing error",
            body="Hello, the invoice printout is empty. Could you please help? Regards, John",
        ),
        make_mail(sender="nowy@firma.pl", subject="Jeszcze jedno"),  # within the hour: no 2nd
    )
    sent = desk.send()
    assert [m.rcpt_tos for m in sent] == [["nowy@firma.pl"], ["john@company.com"]]
    polish, english = sent
    first = desk.calls()[0]
    assert f"Z-{first.id}" in polish.message["Subject"]
    assert "Otrzymaliśmy" in polish.message["Subject"]
    assert "We have received" in english.message["Subject"]
    assert polish.message["Auto-Submitted"] == "auto-replied"
    assert polish.message["In-Reply-To"] is not None
    with desk.db.transaction() as s:
        ticket = accept_call(s, desk.ctx, AGENT, first.id)
        number = ticket.number
    numbered = desk.send()[2]
    assert numbered.rcpt_tos == ["nowy@firma.pl"] and number in numbered.message["Subject"]
    # A reply to the acknowledgement on arrival joins the ticket.
    desk.deliver(
        make_mail(
            sender="nowy@firma.pl",
            subject="Re: Otrzymaliśmy",
            headers={"In-Reply-To": polish.message["Message-ID"]},
        )
    )
    assert len(desk.calls()) == 3


def test_low_confidence_ham_and_list_mail_get_no_acknowledgement(desk: Desk) -> None:
    doubtful = make_mail(
        sender="promo@okazje.example",
        subject="Darmowy bitcoin dla firm",
        body="Kliknij tutaj i zobacz ofertę bitcoin dla księgowości.",
    )
    newsletter = make_mail(
        sender="news@partner.pl",
        subject="Nowości w grudniu",
        headers={"List-Id": "<news.partner.pl>", "Precedence": "bulk"},
    )
    desk.deliver(doubtful, newsletter)
    calls = desk.calls()
    assert [c.classification for c in calls] == ["ham", "bulk"]
    assert calls[0].score >= IntakeSettings().ack_max_spam_score
    assert desk.send() == []


def test_templates_can_be_replaced(
    tmp_path: Path, sqlite_db: Database, mailbox: ImapSettings, smtp: SmtpServer
) -> None:
    templates = tmp_path / "szablony"
    templates.mkdir()
    (templates / "received.pl.txt").write_text(
        "Mamy to: {{ reference }}\n\nDziękujemy, {{ subject }} dotarło.\n", encoding="utf-8"
    )
    settings = make_settings(tmp_path / "data", sqlite_db, imap=mailbox, smtp=smtp)
    desk = Desk(settings, sqlite_db, mailbox, smtp)
    desk.ctx = IntakeContext(settings, intake=IntakeSettings(template_dir=templates))
    desk.deliver(make_mail(sender="nowy@firma.pl", subject="Błąd wydruku"))
    (sent,) = desk.send()
    assert sent.message["Subject"].startswith("Mamy to: Z-")
    body = sent.message.get_body(("plain",)).get_content()
    assert "dotarło" in body and "[ref: sedno-call." in body


# 5. Bulk ---------------------------------------------------------------------------------------


def test_a_known_customers_question_through_a_list_gets_its_number_when_accepted(
    desk: Desk,
) -> None:
    desk.contact("ewa@zlotyklos.pl")
    desk.deliver(
        make_mail(
            sender="ewa@zlotyklos.pl",
            subject="[forum-enova] Jak zaksięgować korektę?",
            headers={"List-Id": "<forum.enova.pl>", "Precedence": "list"},
        )
    )
    (call,) = desk.calls()
    assert (call.classification, call.status) == ("bulk", "pending")
    assert desk.send() == []  # no acknowledgement on arrival to list mail
    with desk.db.transaction() as s:
        number = accept_call(s, desk.ctx, AGENT, call.id).number
    (sent,) = desk.send()
    assert sent.rcpt_tos == ["ewa@zlotyklos.pl"] and number in sent.message["Subject"]


# 6. Spam from the first mail -------------------------------------------------------------------


def test_obvious_spam_is_spam_on_a_new_installation(desk: Desk) -> None:
    desk.deliver(
        make_mail(
            sender="wygrana@lucky-prize.biz",
            subject="WYGRAŁEŚ!!! Odbierz nagrodę",
            body="Gratulacje! Wygrałeś iPhone. Tania viagra, casino bonus, bitcoin x100. "
            "Kliknij tutaj: http://lucky-prize.biz/odbierz",
        )
    )
    (call,) = desk.calls()
    assert call.classification == "spam" and call.status == "dropped"
    assert desk.send() == []


# 8. Sizes and licences -------------------------------------------------------------------------


def _with_attachment(size: int, name: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Jan <jan@klient.pl>"
    message["To"] = "pomoc@sedno.test"
    message["Subject"] = f"Plik {name}"
    message["Date"] = formatdate()
    message["Message-ID"] = f"<{uuid.uuid4().hex}@klient.pl>"
    message.set_content("W załączeniu kopia bazy.")
    message.add_attachment(
        b"\x5a" * size, maintype="application", subtype="octet-stream", filename=name
    )
    return message.as_bytes()


def test_a_large_mail_is_stored_with_oversized_attachments_left_out_and_listed(
    desk: Desk,
) -> None:
    mib = 1024 * 1024
    desk.deliver(_with_attachment(19 * mib, "baza.bak"), _with_attachment(21 * mib, "duza.bak"))
    small, large = desk.calls()
    with desk.db.read() as s:
        kept, left_out = get_call(s, small.id), get_call(s, large.id)
    assert [(a["filename"], a["size"]) for a in kept.attachments] == [("baza.bak", 19 * mib)]
    assert kept.attachments_left_out == []
    assert left_out.attachments == [] and left_out.attachments_left_out == ["duza.bak"]
    assert large.raw_sha256 is not None
    assert desk.ctx.blobs.exists(large.raw_sha256)  # the raw mail still holds it


@pytest.mark.parametrize(
    ("subject", "body", "linked"),
    [
        ("Licencja EN-100203", "Nie działa eksport.", True),
        ("Pytanie", "Dzień dobry, nr licencji: 100203. Nie działa eksport.", True),
        ("Faktura 100203", "Proszę o korektę.", True),
        ("Pytanie", "Faktura numer 100203 jest błędna.", False),
    ],
)
def test_a_licence_number_links_the_call_to_its_client(
    desk: Desk, subject: str, body: str, linked: bool
) -> None:
    client_id = desk.contact("ktos@inny.pl", licence="EN-100203")
    desk.deliver(make_mail(sender="nieznany@firma.pl", subject=subject, body=body))
    (call,) = desk.calls()
    assert (call.client_id == client_id) is linked
    assert (call.licence == "EN-100203") is linked


def test_the_send_handler_without_a_database_still_sends(
    tmp_path: Path, sqlite_db: Database, smtp: SmtpServer
) -> None:
    settings = make_settings(tmp_path, sqlite_db, smtp=smtp)
    with sqlite_db.transaction() as s:
        enqueue(
            s,
            SEND_MAIL_JOB,
            {
                "from": settings.mail_from,
                "to": ["jan@klient.pl"],
                "subject": "x",
                "message_id": "<x@sedno.test>",
                "text": "x",
            },
        )
    OutboxWorker(sqlite_db, {SEND_MAIL_JOB: make_send_mail_handler(settings)}).drain()
    assert [m.rcpt_tos for m in smtp.wait_for(1)] == [["jan@klient.pl"]]
