"""Phone numbers as one form: E.164 (`+48600100200`), whatever way they were written."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "PL"


def digits(raw: str) -> str:
    return "".join(ch for ch in raw if ch.isdigit())


def to_e164(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """`+48 600 100 200`, `600100200` and `0048600100200` → `+48600100200`; None when the text
    is no possible phone number (an internal extension, a name, an empty string)."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    plain = digits(text)
    if not phonenumbers.is_valid_number(number) and plain.startswith("0") and plain[1:2] != "0":
        # The old trunk prefix: "0 22 123 45 67" is written by people who dialled it for years.
        try:
            without_trunk = phonenumbers.parse(plain[1:], region)
        except phonenumbers.NumberParseException:
            without_trunk = None
        if without_trunk is not None and phonenumbers.is_valid_number(without_trunk):
            number = without_trunk
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """The number as people write it (`+48 600 100 200`)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
