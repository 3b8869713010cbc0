"""Who gets mail (a real SMTP server receives it) and who never does."""

from __future__ import annotations

from typing import Any

from tests.integration.test_handoff import Env, env, served_app, standin
from tickets.core.orm import UserRow
from tickets.core.schemas import TicketPatch
from tickets.core.services import update_ticket
from tickets.directory.service import (
    ClientIn,
    ContactIn,
    PartnerIn,
    create_client,
    create_contact,
    create_partner,
)

__all__ = ["env", "served_app", "standin"]


def _mails_to(env: Env, address: str) -> list[Any]:
    return [m for m in env.smtp.messages if address in m.rcpt_tos]


def _client(env: Env, name: str, *, flagged: bool = False, partner_id: int | None = None) -> int:
    with env.db.transaction() as s:
        client = create_client(
            s, ClientIn(name=name, do_not_contact=flagged, partner_id=partner_id)
        )
        return client.id


def test_opted_out_consultant_gets_no_feedback_mail(env: Env) -> None:
    with env.db.transaction() as s:
        user = s.get(UserRow, env.consultant_id)
        assert user is not None
        user.notify_opt_out = True
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id
    assert item_id is not None

    env.change_state(item_id, "Resolved")
    env.drain()

    assert env.history(ticket_id, "devops_feedback")  # the feedback itself arrived
    assert _mails_to(env, "anna@sedno.pl") == []
    assert len(_mails_to(env, "piotr@firma.pl")) == 1  # the second line did not opt out


def test_feedback_mail_reaches_a_consultant_who_did_not_opt_out(env: Env) -> None:
    # A Scrum bug can be Removed (an Agile bug cannot).
    env.standin.admin.post("/_standin/config", json={"process": "Scrum"}).raise_for_status()
    ticket_id = env.new_ticket()
    env.hand_off(ticket_id)
    env.drain()
    item_id = env.ticket(ticket_id).devops_work_item_id
    assert item_id is not None

    env.change_state(item_id, "Removed")
    env.drain()

    [mail] = _mails_to(env, "anna@sedno.pl")
    assert "Produkcja usunęła element roboczy" in str(mail.message["Subject"])
    assert env.ticket(ticket_id).state == "in_progress"
    body = mail.message.get_body(("plain",)).get_content()
    # In Polish, the work item's state and the ticket's too, never their internal names.
    assert "na „Usunięty”" in body and "Stan zgłoszenia: W realizacji." in body
    assert "Removed" not in body and "in_progress" not in body


def test_contact_of_a_do_not_contact_client_gets_nothing(env: Env) -> None:
    flagged = _client(env, "Zakazany Sp. z o.o.", flagged=True)
    allowed = _client(env, "Dozwolony S.A.")
    blocked_ticket = env.new_ticket(client_id=flagged, contact_email="ktos@zakazany.pl")
    allowed_ticket = env.new_ticket(client_id=allowed, contact_email="ktos@dozwolony.pl")

    env.move(blocked_ticket, "in_progress")  # a notifying state of ZS
    env.move(allowed_ticket, "in_progress")
    env.drain()

    assert _mails_to(env, "ktos@zakazany.pl") == []
    [skipped] = env.history(blocked_ticket, "notify_skipped")
    assert "zakaz kontaktu" in skipped.note
    [mail] = _mails_to(env, "ktos@dozwolony.pl")
    assert str(mail.message["Subject"]).endswith("Zmiana stanu zgłoszenia: W realizacji")
    body = mail.message.get_body(("plain",)).get_content()
    assert "zmienił się na: W realizacji" in body


def test_contact_of_a_client_whose_partner_is_do_not_contact_gets_nothing(env: Env) -> None:
    with env.db.transaction() as s:
        partner = create_partner(s, PartnerIn(name="Partner Zakaz", do_not_contact=True))
        partner_id = partner.id
    client_id = _client(env, "Klient Partnera", partner_id=partner_id)
    with env.db.transaction() as s:
        contact = create_contact(
            s, ContactIn(name="Jan Kontakt", email="jan@klientpartnera.pl", client_id=client_id)
        )
        contact_id = contact.id
    ticket_id = env.new_ticket(contact_id=contact_id)

    env.move(ticket_id, "completed")
    env.drain()

    assert _mails_to(env, "jan@klientpartnera.pl") == []
    assert env.history(ticket_id, "notify_skipped")


def test_a_consultant_is_told_when_a_ticket_is_assigned_to_them(env: Env) -> None:
    ticket_id = env.new_ticket()
    with env.db.transaction() as s:
        update_ticket(
            s, env.consultant, ticket_id, TicketPatch(lead_consultant_id=env.second_line_id)
        )
    env.drain()

    [mail] = _mails_to(env, "piotr@firma.pl")
    assert "Przydzielono Ci zgłoszenie" in str(mail.message["Subject"])
    assert _mails_to(env, "anna@sedno.pl") == []  # her own tickets are no news to her
