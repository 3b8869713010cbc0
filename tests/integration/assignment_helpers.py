"""The people of the assignment tests: a shift manager who assigns, consultants who answer."""

from __future__ import annotations

import msgspec

from tickets.accounts.auth import create_user
from tickets.core.db import Database
from tickets.core.schemas import Actor
from tickets.notices.rules import seed_rules


class Person(msgspec.Struct, frozen=True):
    actor: Actor
    token: str


def add_people(db: Database, *logins: str) -> dict[str, Person]:
    """`kierownik` plus the named consultants (`ania`, `marek`), each with an address at the
    vendor's domain; the default notification matrix written."""
    names = {"kierownik": "Kierownik Zmiany", "ania": "Ania Konsultant", "marek": "Marek Drugi"}
    people: dict[str, Person] = {}
    with db.transaction() as s:
        seed_rules(s)
        for login in ("kierownik", *logins):
            user, token = create_user(s, login=login, name=names[login], role="consultant",
                                      email=f"{login}@erp-serwis.pl")  # fmt: skip
            people[login] = Person(Actor(user.id, user.name, "consultant"), token)
    return people
