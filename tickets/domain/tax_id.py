"""Polish tax numbers (NIP): ten digits, the last a checksum of the other nine."""

from __future__ import annotations

import re

_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_ALLOWED = re.compile(r"^(PL)?[0-9 \-.]+$", re.IGNORECASE)


class InvalidTaxId(ValueError):
    """Not a NIP; the message says why."""


def normalise_nip(text: str) -> str:
    """`PL 526-025-09-95`, `526 025 09 95`, `5260250995` → `5260250995`, or `InvalidTaxId`."""
    compact = text.strip()
    if not _ALLOWED.match(compact):
        raise InvalidTaxId("a NIP holds ten digits (spaces, hyphens and a PL prefix allowed)")
    digits = re.sub(r"[^0-9]", "", compact)
    if len(digits) != 10:
        raise InvalidTaxId(f"a NIP has 10 digits, not {len(digits)}")
    check = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=False)) % 11
    if check == 10 or check != int(digits[9]):
        raise InvalidTaxId("the NIP's check digit does not match (a typo?)")
    return digits


def digits_only(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)
