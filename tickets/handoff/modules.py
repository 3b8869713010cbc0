"""The module dictionary as a check of a ticket's `module` field (a hook of the ticket core)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.domain.errors import ValidationFailed
from tickets.handoff.orm import DevOpsModuleRow


def check_module(session: Session, values: dict[str, Any]) -> None:
    """A module must be one of the module dictionary's (when it has any), in its spelling."""
    value = values.get("module")
    if not value or not isinstance(value, str):
        return
    known = list(session.scalars(select(DevOpsModuleRow.module).where(DevOpsModuleRow.active)))
    if not known:
        return
    for name in known:
        if name.casefold() == value.strip().casefold():
            values["module"] = name
            return
    raise ValidationFailed("module", f"{value!r} is not a module of the dictionary")
