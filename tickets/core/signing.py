"""Signed values for links that need no login: an HMAC of the installation's secret over a
purpose and a value, short enough for a URL. One signing for every such link (opting out of
automatic mail, answering an assignment), so a signature for one purpose never fits another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign(secret: str, purpose: str, value: str) -> str:
    """The URL-safe signature of `value` for `purpose`."""
    mac = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def signature_matches(secret: str, purpose: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, purpose, value), signature)
