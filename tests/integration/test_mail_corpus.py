"""Every awkward real-world mail in the shared corpus parses into readable fields."""

from __future__ import annotations

import re
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest

from intake.parse import parse_mail

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mail-corpus"
FILES = sorted(p for p in CORPUS.glob("*") if p.is_file()) if CORPUS.is_dir() else []


def _has_header(raw: bytes, name: str) -> bool:
    head = re.split(rb"\r?\n\r?\n", raw.lstrip(), maxsplit=1)[0]
    return re.search(rb"(?im)^" + name.encode() + rb"[ \t]*:[ \t]*\S", head) is not None


def _has_text_part(raw: bytes) -> bool:
    message = BytesParser(policy=compat32).parsebytes(raw)
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload.strip():
                return True
    return False


@pytest.mark.skipif(not FILES, reason=f"shared mail corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_mail_parses_readably(path: Path) -> None:
    raw = path.read_bytes()
    mail = parse_mail(raw)

    for value in [mail.subject, mail.text, *(a.filename for a in mail.attachments)]:
        value.encode("utf-8")  # no lone surrogates: storable in any database
        assert "\x00" not in value

    assert not re.search(r"=\?[\w-]+\?[QqBb]\?", mail.subject), "encoded word left in subject"
    if _has_header(raw, "Subject"):
        assert mail.subject.strip(), "the mail has a subject but none came out"
        assert mail.subject.count("\ufffd") < len(mail.subject) / 2, repr(mail.subject)
    if _has_header(raw, "From"):
        assert mail.sender is not None
        assert "@" in mail.sender.address and " " not in mail.sender.address
    if not raw.startswith(b"\xd0\xcf\x11\xe0") and _has_text_part(raw):
        assert mail.text.strip(), "the mail has a text part but no text came out"
    # Text decoded with the wrong charset shows up as many replacement characters.
    assert mail.text.count("\ufffd") <= max(3, len(mail.text) // 100)


@pytest.mark.skipif(not FILES, reason=f"shared mail corpus not found at {CORPUS}")
def test_outlook_msg_file_in_corpus_is_read() -> None:
    mail = parse_mail((CORPUS / "mailparser-mail_outlook_1.eml").read_bytes())
    assert mail.subject.startswith("Newsletter Prüfung")
    assert mail.sender is not None and mail.sender.address.lower() == "nueblingv@w-vwa.de"
    assert "Newsletter" in mail.text
