"""Telephony for the demo: phones for the demo clients and contacts, extensions for the demo
users, one client with its own consultant. Idempotent."""

from __future__ import annotations

from sqlalchemy import select

from tickets.core.db import Database, utcnow
from tickets.core.orm import ClientRow, ContactRow, UserRow
from tickets.telephony import statuses

DEMO_PHONES = (
    # client name, client phone, contact name, contact phone
    ("Piekarnia Łączka sp. z o.o.", "+48 12 345 67 80", "Marta Łączka", "600 100 201"),
    ("Zakład Mięsny Żuraw", "+48 22 111 22 33", "Jerzy Żuraw", "600 100 202"),
    ("Hurtownia Ćma S.A.", "+48 58 765 43 21", "Ola Ćma", "600 100 203"),
    ("Sklep Ogrodowy Źdźbło", "+48 500 200 300", "Kamil Źdźbło", "600 100 204"),
    ("Gminny Ośrodek Kultury w Łodzi", "+48 42 600 70 80", "Beata Kulturalna", "600 100 205"),
)
DEMO_LINES = (
    # login, extension, competences
    ("konsultant", "101", ["Handel", "Magazyn", "Księgowość"]),
    ("kurator", "102", ["Kadry Płace", "Pulpit Pracownika"]),
    ("admin.demo", "103", ["Triva"]),
)
OWN_CONSULTANT = ("Piekarnia Łączka sp. z o.o.", "konsultant")


def load_telephony_demo(db: Database) -> str:
    """Phones, extensions and free statuses for the demo (after `sedno demo`)."""
    with db.transaction() as s:
        statuses.seed_statuses(s)
        clients = {c.name: c for c in s.scalars(select(ClientRow))}
        users = {u.login: u for u in s.scalars(select(UserRow))}
        if not clients or not users:
            return "telephony demo: no demo data yet (run `sedno demo`)"
        added = 0
        for client_name, client_phone, contact_name, contact_phone in DEMO_PHONES:
            client = clients.get(client_name)
            if client is None:
                continue
            client.phone = client.phone or client_phone
            if s.scalar(select(ContactRow).where(ContactRow.name == contact_name)) is None:
                s.add(ContactRow(name=contact_name, phone=contact_phone, client_id=client.id))
                added += 1
        for login, extension, competences in DEMO_LINES:
            user = users.get(login)
            if user is None:
                continue
            line = statuses.line_of(s, user.id)
            if line.extension is None:
                statuses.set_telephony(
                    s,
                    user.id,
                    statuses.TelephonyPatch(extension=extension, competences=competences),
                )
                statuses.set_status(s, user.id, statuses.AVAILABLE, utcnow())
        client_name, login = OWN_CONSULTANT
        if client_name in clients and login in users:
            clients[client_name].consultant_id = (
                clients[client_name].consultant_id or users[login].id
            )
        with_phones = len(s.scalars(select(ContactRow.id).where(ContactRow.phone != "")).all())
    lines = ", ".join(e for _, e, _ in DEMO_LINES)
    return f"telephony demo: {with_phones} contacts with phones ({added} new), extensions {lines}"
