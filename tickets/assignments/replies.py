"""What an assignee's reply by mail answers: its first words, quoted text and signature left
out. Plain functions of the text, so the words are easy to test and to extend."""

from __future__ import annotations

import re
from typing import Final

from tickets.assignments.links import Answer

CONFIRM_WORDS: Final = frozenset(
    {"potwierdzam", "potwierdzone", "akceptuję", "akceptuje", "przyjmuję", "przyjmuje",
     "zgoda", "ok", "okay", "tak", "yes", "confirm", "confirmed", "accept", "accepted"}
)  # fmt: skip
REJECT_WORDS: Final = frozenset(
    {"odrzucam", "odrzucone", "nie", "odmawiam", "no", "reject", "rejected", "decline",
     "declined"}
)  # fmt: skip
EXPLICIT_WORDS: Final = frozenset(
    {"potwierdzam", "akceptuję", "akceptuje", "przyjmuję", "przyjmuje", "odrzucam", "odmawiam",
     "confirm", "confirmed", "accept", "reject", "decline"}
)  # fmt: skip
"""Words no auto-reply opens with ("Nie ma mnie w biurze" must not reject)."""
_QUOTE_HEADER: Final = re.compile(
    r"^\s*(on\s.+wrote:|w dniu\s.+(napisał|napisała|pisze)|dnia\s.+(napisał|napisała)"
    r"|-{2,}\s*(original message|wiadomość oryginalna|oryginalna wiadomość)"
    r"|(from|od|sent|wysłano):\s)",
    re.IGNORECASE,
)
_WORD: Final = re.compile(r"\w+", re.UNICODE)


def own_text(text: str) -> str:
    """The reply's own lines: up to the signature or the quoted mail, quotes skipped."""
    lines: list[str] = []
    for line in (text or "").splitlines():
        if line.rstrip() == "--" or _QUOTE_HEADER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        lines.append(line)
    return "\n".join(lines).strip()


def read_answer(text: str, *, explicit_only: bool = False) -> tuple[Answer | None, str]:
    """(answer, the rest of the reply as a reason); None when the first word decides nothing.
    `explicit_only`: only a verb of `EXPLICIT_WORDS` decides (a text that reads like an
    out-of-office)."""
    own = own_text(text)
    match = _WORD.search(own)
    if match is None:
        return None, own
    word = match.group(0).lower()
    if explicit_only and word not in EXPLICIT_WORDS:
        return None, own
    rest = own[match.end() :].lstrip(" \t,.;:!-–—\r\n").strip()
    if word in CONFIRM_WORDS:
        return "confirmed", rest
    if word in REJECT_WORDS:
        return "rejected", rest
    return None, own
