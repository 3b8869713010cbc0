"""The planner's settings, read once by the composition root (`SEDNO_TIMEZONE`, `SEDNO_PLANNER_*`)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from typing import Final

import msgspec

from tickets.core.settings import SettingsError, env_number

DEFAULT_HOURS: Final[dict[str, list[list[str]]]] = {
    day: [["08:00", "16:00"]] for day in ("mon", "tue", "wed", "thu", "fri")
}


class PlannerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the desk plans work."""

    timezone: str = "Europe/Warsaw"
    """The desk's local time: times given without an offset are read in it (`SEDNO_TIMEZONE`)."""
    holiday_country: str = "PL"
    """Public holidays built in from the `holidays` package (`SEDNO_PLANNER_HOLIDAYS`)."""
    default_hours: dict[str, list[list[str]]] = msgspec.field(
        default_factory=lambda: {k: [list(v) for v in spans] for k, spans in DEFAULT_HOURS.items()}
    )
    """Working hours of an operator who has no calendar yet: Monday to Friday, 8 to 16."""
    activity_minutes: dict[str, int] = msgspec.field(
        default_factory=lambda: {"service_review": 120}
    )
    """Length of an appointment per ticket type (`SEDNO_PLANNER_ACTIVITY_MINUTES`,
    e.g. `service_review=120,bug=60`); other types take `default_minutes`."""
    default_minutes: int = 60
    """Length of an appointment whose ticket type has none (`SEDNO_PLANNER_DEFAULT_MINUTES`)."""
    slot_minutes: int = 30
    """The planner page's grid (`SEDNO_PLANNER_SLOT_MINUTES`)."""
    due_soon_days: int = 7
    """The to-do list shows tasks due within this many days (`SEDNO_PLANNER_DUE_SOON_DAYS`)."""
    mail_language: str = "pl"
    """Language of customer mail about appointments unless a booking names one."""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def _minutes_map(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() and value.strip().isdigit():
            out[key.strip()] = int(value.strip())
    return out


def load_planner_settings(env: Mapping[str, str]) -> PlannerSettings:
    """From the composition root's environment; a bad time zone fails at start."""

    def get(name: str) -> str | None:
        value = env.get(f"SEDNO_{name}")
        return value.strip() if value and value.strip() else None

    timezone = get("TIMEZONE") or "Europe/Warsaw"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError("SEDNO_TIMEZONE", f"no such time zone: {timezone!r}") from None
    base = PlannerSettings()
    minutes = get("PLANNER_ACTIVITY_MINUTES")
    return PlannerSettings(
        timezone=timezone,
        holiday_country=get("PLANNER_HOLIDAYS") or base.holiday_country,
        activity_minutes=_minutes_map(minutes) if minutes else base.activity_minutes,
        default_minutes=int(
            env_number(env, "SEDNO_PLANNER_DEFAULT_MINUTES", base.default_minutes, whole=True)
        ),
        slot_minutes=int(
            env_number(env, "SEDNO_PLANNER_SLOT_MINUTES", base.slot_minutes, whole=True)
        ),
        due_soon_days=int(
            env_number(env, "SEDNO_PLANNER_DUE_SOON_DAYS", base.due_soon_days, whole=True)
        ),
        mail_language=get("PLANNER_MAIL_LANGUAGE") or base.mail_language,
    )
