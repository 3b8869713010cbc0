"""Signed Message-IDs of the mail Sedno sends about a ticket: a reply quoting one threads into
that ticket (intake reads them back), and nobody can forge one without the secret key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

SIGNATURE_HEX: Final = 20
_TOKEN: Final = re.compile(
    rf"sedno\.(\d{{1,18}})\.([A-Za-z0-9]{{6,40}})\.([0-9a-f]{{{SIGNATURE_HEX}}})@([\w.-]+)"
)


def _signature(ticket_id: int, nonce: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{ticket_id}.{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:SIGNATURE_HEX]


def new_message_id(ticket_id: int, *, domain: str, secret: str) -> str:
    """A fresh signed Message-ID for a mail about `ticket_id`, without angle brackets."""
    nonce = secrets.token_hex(6)
    return f"sedno.{ticket_id}.{nonce}.{_signature(ticket_id, nonce, secret)}@{domain}"


def ticket_id_from_token(text: str, *, domain: str, secret: str) -> int | None:
    """The ticket named by the first validly signed token of ours in `text`, else None."""
    for match in _TOKEN.finditer(text or ""):
        ticket_id, nonce, signature, token_domain = match.groups()
        if token_domain.lower() != domain.lower():
            continue
        expected = _signature(int(ticket_id), nonce, secret)
        if hmac.compare_digest(expected, signature):
            return int(ticket_id)
    return None


def is_own_message_id(message_id: str | None, domain: str) -> bool:
    """Whether a Message-ID carries our domain (mail we sent coming back)."""
    return bool(message_id) and str(message_id).lower().rstrip(">").endswith("@" + domain.lower())
