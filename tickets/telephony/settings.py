"""Telephony settings (environment `SEDNO_TELEPHONY_*`), read once at the composition root."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class TelephonySettings(msgspec.Struct, frozen=True, kw_only=True):
    """How Sedno talks to the PBX."""

    secret: str = ""
    """Shared secret the PBX presents on events and look-ups; empty = PBX calls refused."""
    min_digits: int = 7
    """Numbers with fewer digits are internal extensions: their calls are not logged."""
    wrap_up_s: int = 60
    """After a call ends, the consultant stays "on a call" this long before becoming free."""
    queue_extension: str = ""
    """Where the route look-up sends a call when no consultant is free (ring group, queue)."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name) or ""
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: not a whole number: {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}..{high}")
    return value


def load_telephony_settings(env: Mapping[str, str]) -> TelephonySettings:
    """Telephony settings from an environment mapping (the caller merges `.env`)."""
    return TelephonySettings(
        secret=env.get("SEDNO_TELEPHONY_SECRET") or "",
        min_digits=_int(env, "SEDNO_TELEPHONY_MIN_DIGITS", 7, 1, 15),
        wrap_up_s=_int(env, "SEDNO_TELEPHONY_WRAP_UP_S", 60, 0, 3600),
        queue_extension=(env.get("SEDNO_TELEPHONY_QUEUE_EXTENSION") or "").strip(),
    )
