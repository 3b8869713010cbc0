"""Opting out of automatic mail: a signed link per address in every automatic mail's footer,
a page without login that records the wish, and the check the mail gate makes.

Do-not-contact is checked before this and always wins: an address of a do-not-contact client
gets nothing, opted out or not, and opting back in cannot lift it.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.core.orm import UserRow
from tickets.core.signing import sign, signature_matches
from tickets.notices.orm import MailOptOutRow

OPT_OUT_PATH: Final = "/notifications/opt-out"
FOOTER_LINK: Final = "Nie chcesz dostawać automatycznych wiadomości? Wypisz się: {url}"
OPTED_OUT: Final = "adres wypisał się z automatycznych wiadomości"


PURPOSE: Final = "opt-out"


def opt_out_url(public_url: str, secret: str, address: str) -> str:
    address = address.strip().lower()
    query = urlencode({"a": address, "s": sign(secret, PURPOSE, address)})
    return f"{public_url}{OPT_OUT_PATH}?{query}"


def valid_signature(secret: str, address: str, signature: str) -> bool:
    return signature_matches(secret, PURPOSE, address.strip().lower(), signature)


def opted_out(session: Session, address: str) -> bool:
    return session.get(MailOptOutRow, address.strip().lower()) is not None


def set_opt_out(session: Session, address: str, out: bool) -> None:
    """Record (or withdraw) the wish; a Sedno user's own opt-out flag follows it."""
    address = address.strip().lower()
    row = session.get(MailOptOutRow, address)
    if out and row is None:
        session.add(MailOptOutRow(address=address))
    elif not out and row is not None:
        session.delete(row)
    for user in session.scalars(select(UserRow).where(func.lower(UserRow.email) == address)):
        user.notify_opt_out = out
    session.flush()


def with_footer(payload: dict[str, Any], public_url: str, secret: str) -> dict[str, Any]:
    """The `mail.send` payload with the opt-out link of its (first) recipient below the text."""
    to = [a for a in (payload.get("to") or []) if "@" in a]
    if not to or not payload.get("text"):
        return payload
    from email.utils import getaddresses

    address = getaddresses([to[0]])[0][1] or to[0]
    line = FOOTER_LINK.format(url=opt_out_url(public_url, secret, address))
    text = str(payload["text"]).rstrip("\n")
    if not text.endswith("--") and "\n-- \n" not in text and "\n--\n" not in text:
        text += "\n\n--"
    return {**payload, "text": f"{text}\n{line}\n"}
