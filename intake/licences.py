"""Licence numbers in a mail: `EN-100203`, `Licencja EN-100203`, or the bare `100203`.

A prefixed number is looked up as written. A bare number counts only where the mail says it
is a licence ("licencja 100203", "nr licencji: 100203") or in the subject, and only when
exactly one licence ends in it: an invoice or phone number must not link a call to a client.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.parse import ParsedMail
from tickets.core.orm import LicenceRow

_PREFIXED: Final = re.compile(r"\b([A-Z]{2,4})[- ]?(\d{5,8})\b", re.IGNORECASE)
_NAMED_BARE: Final = re.compile(
    r"\b(?:licencj\w*|licenc\w*|licens\w*|licence|license|nr\.? lic\.?)"
    r"[^\d\n]{0,20}(\d{5,8})\b",
    re.IGNORECASE,
)
_BARE: Final = re.compile(r"(?<![\d-])(\d{5,8})(?![\d-])")
_TEXT_LIMIT: Final = 20_000
_CANDIDATES: Final = 10


class LicenceMatch(msgspec.Struct, frozen=True):
    """A licence of the directory named in the mail, and whose it is."""

    number: str
    client_id: int
    partner_id: int | None


def _prefixed(text: str) -> list[str]:
    return [f"{p.upper()}-{n}" for p, n in _PREFIXED.findall(text)][:_CANDIDATES]


def _bare(subject: str, body: str) -> list[str]:
    found = _NAMED_BARE.findall(f"{subject}\n{body}") + _BARE.findall(subject)
    return list(dict.fromkeys(found))[:_CANDIDATES]


def _match(row: LicenceRow) -> LicenceMatch:
    return LicenceMatch(number=row.number, client_id=row.client_id, partner_id=row.partner_id)


def find_licence(session: Session, mail: ParsedMail) -> LicenceMatch | None:
    """The first licence of the directory the mail names, with or without its prefix."""
    body = mail.text[:_TEXT_LIMIT]
    prefixed = _prefixed(f"{mail.subject}\n{body}")
    if prefixed:
        known = {
            r.number: r
            for r in session.scalars(select(LicenceRow).where(LicenceRow.number.in_(prefixed)))
        }
        for number in prefixed:
            if number in known:
                return _match(known[number])
    for digits in _bare(mail.subject, body):
        rows = list(
            session.scalars(
                select(LicenceRow)
                .where((LicenceRow.number == digits) | LicenceRow.number.like(f"%-{digits}"))
                .limit(2)
            )
        )
        if len(rows) == 1:
            return _match(rows[0])
    return None
