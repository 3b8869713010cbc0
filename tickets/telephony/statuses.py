"""User statuses and extensions: who is free to take a call."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.core.orm import UserRow
from tickets.domain.errors import NotFound, ValidationFailed
from tickets.telephony.orm import TelephonyStatusRow, TelephonyUserRow

AVAILABLE = "available"
ON_CALL = "on_call"
AWAY = "away"
DEFAULT_STATUSES: tuple[tuple[str, str, str, bool], ...] = (
    (AVAILABLE, "Wolny", "Available", True),
    (ON_CALL, "Rozmowa z klientem", "On a call", False),
    ("break", "Przerwa", "On a break", False),
    (AWAY, "Niedostępny", "Away", False),
)
BUILT_IN = frozenset(code for code, *_ in DEFAULT_STATUSES)
"""Statuses the PBX events set by themselves: they can be relabelled, never removed."""

Code = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[str, Meta(min_length=1, max_length=100)]
Extension = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[0-9*#+]+$")]
Module = Annotated[str, Meta(min_length=1, max_length=200)]


class StatusEntry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    label_pl: Label
    label_en: Label
    routable: bool = False
    """A consultant in this status is free: calls are routed to them."""
    active: bool = True


class StatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: Code


class TelephonyPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    extension: Extension | UnsetType | None = UNSET
    competences: Annotated[list[Module], Meta(max_length=50)] | UnsetType = UNSET


class UserTelephony(msgspec.Struct):
    user_id: int
    name: str
    extension: str | None
    status: str
    status_label: str
    status_since: dt.datetime
    free_at: dt.datetime | None
    competences: list[str]


def seed_statuses(session: Session) -> None:
    """Add the default statuses that are missing; never overwrite a desk's labels."""
    existing = set(session.scalars(select(TelephonyStatusRow.code)))
    for position, (code, label_pl, label_en, routable) in enumerate(DEFAULT_STATUSES):
        if code not in existing:
            session.add(
                TelephonyStatusRow(
                    code=code,
                    label_pl=label_pl,
                    label_en=label_en,
                    routable=routable,
                    position=position,
                )
            )
    session.flush()


def list_statuses(session: Session, *, active_only: bool = False) -> list[TelephonyStatusRow]:
    query = select(TelephonyStatusRow).order_by(TelephonyStatusRow.position)
    if active_only:
        query = query.where(TelephonyStatusRow.active.is_(True))
    return list(session.scalars(query))


def status_entries(session: Session, *, active_only: bool = False) -> list[StatusEntry]:
    return [
        StatusEntry(
            code=r.code,
            label_pl=r.label_pl,
            label_en=r.label_en,
            routable=r.routable,
            active=r.active,
        )
        for r in list_statuses(session, active_only=active_only)
    ]


def put_statuses(session: Session, entries: list[StatusEntry]) -> list[StatusEntry]:
    """Add or relabel statuses; the built-in four keep their meaning (and stay active)."""
    for position, entry in enumerate(entries):
        row = session.get(TelephonyStatusRow, entry.code)
        if entry.code in BUILT_IN:
            default_routable = entry.code == AVAILABLE
            if entry.routable != default_routable or not entry.active:
                raise ValidationFailed(
                    "items", f"{entry.code!r} is built in: relabel it, do not change its meaning"
                )
        if row is None:
            row = TelephonyStatusRow(code=entry.code)
            session.add(row)
        row.label_pl = entry.label_pl
        row.label_en = entry.label_en
        row.routable = entry.routable
        row.active = entry.active
        row.position = position
    session.flush()
    return status_entries(session)


def line_of(session: Session, user_id: int, *, for_update: bool = False) -> TelephonyUserRow:
    """The user's telephony row, created (away, no extension) on first use."""
    row = session.get(TelephonyUserRow, user_id, with_for_update=for_update or None)
    if row is not None:
        return row
    if session.get(UserRow, user_id) is None:
        raise NotFound("user", user_id)
    if session.get(TelephonyStatusRow, AWAY) is None:
        seed_statuses(session)  # a database set up without the bootstrap (tests, scripts)
    row = TelephonyUserRow(user_id=user_id, status=AWAY, competences=[])
    session.add(row)
    session.flush()
    return row


def effective_status(line: TelephonyUserRow, now: dt.datetime) -> str:
    """The status as it stands now: a wrap-up that ran out counts as free."""
    if line.status == ON_CALL and line.free_at is not None and line.free_at <= now:
        return AVAILABLE
    return line.status


def settle_wrap_up(row: TelephonyUserRow, now: dt.datetime) -> None:
    """Write down a wrap-up that has run out: the consultant is free since it ended."""
    if row.free_at is not None and effective_status(row, now) != row.status:
        _set(row, AVAILABLE, row.free_at)


def _set(row: TelephonyUserRow, status: str, at: dt.datetime) -> None:
    if row.status != status:
        row.status = status
        row.status_since = at
    row.on_call_id = None
    row.free_at = None


def set_status(session: Session, user_id: int, status: str, now: dt.datetime) -> TelephonyUserRow:
    """The consultant sets their own status (the top-bar switch, `PUT /api/me/status`)."""
    entry = session.get(TelephonyStatusRow, status)
    if entry is None or not entry.active:
        codes = ", ".join(s.code for s in list_statuses(session, active_only=True))
        raise ValidationFailed("status", f"{status!r} is not a status; one of: {codes}")
    row = line_of(session, user_id, for_update=True)
    _set(row, status, now)
    session.flush()
    return row


def set_telephony(session: Session, user_id: int, patch: TelephonyPatch) -> TelephonyUserRow:
    """Give a user an extension (SIP number) and the modules they take calls about."""
    row = line_of(session, user_id, for_update=True)
    if patch.extension is not UNSET:
        if patch.extension is not None:
            owner = session.scalar(
                select(TelephonyUserRow).where(TelephonyUserRow.extension == patch.extension)
            )
            if owner is not None and owner.user_id != user_id:
                raise ValidationFailed(
                    "extension", f"{patch.extension} belongs to user {owner.user_id}"
                )
        row.extension = patch.extension
    if patch.competences is not UNSET:
        row.competences = sorted({c.strip() for c in patch.competences if c.strip()})
    session.flush()
    return row


def line_by_extension(session: Session, extension: str) -> TelephonyUserRow | None:
    return session.scalar(select(TelephonyUserRow).where(TelephonyUserRow.extension == extension))


def routable_codes(session: Session) -> set[str]:
    return set(
        session.scalars(
            select(TelephonyStatusRow.code).where(
                TelephonyStatusRow.routable.is_(True), TelephonyStatusRow.active.is_(True)
            )
        )
    )


def user_telephony(
    session: Session, row: TelephonyUserRow, lang: str = "pl", now: dt.datetime | None = None
) -> UserTelephony:
    """The line as shown; with `now`, a finished wrap-up already counts as free."""
    user = session.get(UserRow, row.user_id)
    code = effective_status(row, now) if now is not None else row.status
    status = session.get(TelephonyStatusRow, code)
    label = code if status is None else (status.label_en if lang == "en" else status.label_pl)
    settled = code != row.status
    return UserTelephony(
        user_id=row.user_id,
        name=user.name if user is not None else "",
        extension=row.extension,
        status=code,
        status_label=label,
        status_since=row.free_at if settled and row.free_at else row.status_since,
        free_at=None if settled else row.free_at,
        competences=list(row.competences or []),
    )


def current_line(
    session: Session, user_id: int, now: dt.datetime, lang: str = "pl"
) -> UserTelephony:
    """A user's line as it stands now, read only (a user without one is away)."""
    row = session.get(TelephonyUserRow, user_id)
    if row is None:
        if session.get(UserRow, user_id) is None:
            raise NotFound("user", user_id)
        row = TelephonyUserRow(user_id=user_id, status=AWAY, status_since=now, competences=[])
        return user_telephony(session, row, lang, now)
    return user_telephony(session, row, lang, now)
