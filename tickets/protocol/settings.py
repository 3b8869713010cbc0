"""Protocol settings (environment `SEDNO_PROTOCOL_*`), read once at the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


class ProtocolSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the ticket protocol is printed."""

    font_regular: str = str(DEJAVU / "DejaVuSans.ttf")
    """A TrueType font with the Polish letters, embedded in the PDF (Debian fonts-dejavu-core)."""
    font_bold: str = str(DEJAVU / "DejaVuSans-Bold.ttf")
    """Its bold face, for headings and labels."""
    issuer: str = "Dział wsparcia"
    """Who issues the protocol: the heading's second line and the left signature line."""


def load_protocol_settings(env: Mapping[str, str]) -> ProtocolSettings:
    """Protocol settings from an environment mapping (the caller merges `.env`)."""
    default = ProtocolSettings()
    return ProtocolSettings(
        font_regular=env.get("SEDNO_PROTOCOL_FONT") or default.font_regular,
        font_bold=env.get("SEDNO_PROTOCOL_FONT_BOLD") or default.font_bold,
        issuer=(env.get("SEDNO_PROTOCOL_ISSUER") or "").strip() or default.issuer,
    )


def missing_fonts(settings: ProtocolSettings) -> list[str]:
    """Font files the settings name that are not there (the protocol cannot be printed)."""
    return [p for p in (settings.font_regular, settings.font_bold) if not Path(p).is_file()]
