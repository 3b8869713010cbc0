"""Signed Message-IDs of the mail Sedno sends: a reply quoting one threads into the ticket (or
intake call) it names, and nobody can forge one without the secret key."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Final

SIGNATURE_HEX: Final = 20


class SignedIds:
    """Tokens `<prefix>.<id>.<nonce>.<signature>@<domain>` for one kind of record."""

    def __init__(self, prefix: str, salt: str = "") -> None:
        self.prefix = prefix
        self.salt = salt
        """Signed with the id, so that a token of one kind never passes for another."""
        self._token = re.compile(
            re.escape(prefix)
            + rf"\.(\d{{1,18}})\.([A-Za-z0-9]{{6,40}})\.([0-9a-f]{{{SIGNATURE_HEX}}})@([\w.-]+)"
        )

    def _signature(self, record_id: int, nonce: str, secret: str) -> str:
        message = f"{self.salt}{record_id}.{nonce}".encode()
        return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:SIGNATURE_HEX]

    def new(self, record_id: int, *, domain: str, secret: str) -> str:
        """A fresh signed Message-ID naming `record_id`, without angle brackets."""
        nonce = secrets.token_hex(6)
        return f"{self.prefix}.{record_id}.{nonce}.{self._signature(record_id, nonce, secret)}@{domain}"

    def find(self, text: str, *, domain: str, secret: str) -> int | None:
        """The id named by the first validly signed token of ours in `text`, else None."""
        for match in self._token.finditer(text or ""):
            record_id, nonce, signature, token_domain = match.groups()
            if token_domain.lower() != domain.lower():
                continue
            if hmac.compare_digest(self._signature(int(record_id), nonce, secret), signature):
                return int(record_id)
        return None


TICKET_IDS: Final = SignedIds("sedno")


def new_message_id(ticket_id: int, *, domain: str, secret: str) -> str:
    """A fresh signed Message-ID for a mail about `ticket_id`, without angle brackets."""
    return TICKET_IDS.new(ticket_id, domain=domain, secret=secret)


def ticket_id_from_token(text: str, *, domain: str, secret: str) -> int | None:
    """The ticket named by the first validly signed token of ours in `text`, else None."""
    return TICKET_IDS.find(text, domain=domain, secret=secret)


def is_own_message_id(message_id: str | None, domain: str) -> bool:
    """Whether a Message-ID carries our domain (mail we sent coming back)."""
    return bool(message_id) and str(message_id).lower().rstrip(">").endswith("@" + domain.lower())
