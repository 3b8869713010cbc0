"""The signed "Potwierdzam / Odrzucam" links of an assignment mail: no login, the signature
(`tickets.core.signing`) proves the link came in that mail, and it expires."""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal
from urllib.parse import urlencode

import msgspec

from tickets.core.signing import sign, signature_matches

ANSWER_PATH: Final = "/assignments/answer"
PURPOSE: Final = "assignment-answer"
LINK_VALID_FOR: Final = dt.timedelta(days=14)
"""Long enough for a holiday; an older link is refused and the console still answers."""
Answer = Literal["confirmed", "rejected"]
ANSWERS: Final = ("confirmed", "rejected")


class AnswerLink(msgspec.Struct, frozen=True):
    """What a valid link says."""

    assignment_id: int
    answer: Answer
    expires_at: dt.datetime


class LinkRefused(Exception):
    """A link that was tampered with (`expired` False) or is too old (`expired` True)."""

    def __init__(self, expired: bool) -> None:
        self.expired = expired
        super().__init__("the link has expired" if expired else "the link is not valid")


def _value(assignment_id: int, answer: str, expires: int) -> str:
    return f"{assignment_id}.{answer}.{expires}"


def answer_url(
    public_url: str, secret: str, assignment_id: int, answer: Answer, now: dt.datetime
) -> str:
    expires = int((now + LINK_VALID_FOR).timestamp())
    signature = sign(secret, PURPOSE, _value(assignment_id, answer, expires))
    query = urlencode({"a": assignment_id, "d": answer, "e": expires, "s": signature})
    return f"{public_url}{ANSWER_PATH}?{query}"


def read_link(secret: str, a: str, d: str, e: str, s: str, now: dt.datetime) -> AnswerLink:
    """The link's assignment and answer, or LinkRefused."""
    if not (a.isdigit() and e.isdigit() and d in ANSWERS and s):
        raise LinkRefused(expired=False)
    if not signature_matches(secret, PURPOSE, _value(int(a), d, int(e)), s):
        raise LinkRefused(expired=False)
    expires_at = dt.datetime.fromtimestamp(int(e), dt.UTC)
    if expires_at < now:
        raise LinkRefused(expired=True)
    return AnswerLink(int(a), d, expires_at)  # type: ignore[arg-type]


def answer_block(public_url: str, secret: str, assignment_id: int, now: dt.datetime) -> str:
    """The lines of the assignment mail that ask for an answer, in Polish."""
    days = LINK_VALID_FOR.days
    return (
        "Potwierdź albo odrzuć przydział (bez logowania):\n"
        f"Potwierdzam: {answer_url(public_url, secret, assignment_id, 'confirmed', now)}\n"
        f"Odrzucam: {answer_url(public_url, secret, assignment_id, 'rejected', now)}\n"
        f"Linki są ważne {days} dni. Możesz też odpowiedzieć na tę wiadomość, zaczynając od "
        "„Potwierdzam” albo „Odrzucam” (po nim powód); odpowiedź trafi do zgłoszenia.\n"
    )
