"""Settings of time and cost, read once by the composition root."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping

import msgspec


class TimeCostSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How time is reported and priced."""

    timezone: str = "Europe/Warsaw"
    """The desk's time zone (`SEDNO_TIMEZONE`): report days run from local midnight."""
    max_report_days: int = 1096
    """The longest period one report may cover (`SEDNO_TIME_REPORT_MAX_DAYS`)."""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def load_timecost_settings(env: Mapping[str, str]) -> TimeCostSettings:
    def get(name: str) -> str | None:
        value = env.get(f"SEDNO_{name}")
        return value.strip() if value and value.strip() else None

    timezone = get("TIMEZONE") or "Europe/Warsaw"
    zoneinfo.ZoneInfo(timezone)
    return TimeCostSettings(
        timezone=timezone,
        max_report_days=int(get("TIME_REPORT_MAX_DAYS") or 1096),
    )
