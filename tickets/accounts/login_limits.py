"""Login attempt limits, kept in the database so that every API replica counts the same.

Failed logins are recorded with their login name and client address. Within `WINDOW_S`:
- `PER_LOGIN_ADDRESS` failures for one login from one address lock that pair (guessing);
- `PER_ADDRESS` failures from one address lock that address (spraying many logins);
- nothing is ever locked globally: failures for a login from *other* addresses (someone
  guessing from many machines, or trying to lock its owner out) only slow its next attempts
  down, by `delay_s`, so the owner still gets in from an address of their own.
Locked attempts are refused (HTTP 429 with `Retry-After`) until enough failures age out. A
successful login clears the failures of that login from that address. A token login has no
name to protect: it is limited per address only.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

from sqlalchemy import Index, Integer, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.core.db import Base, utcnow
from tickets.domain.errors import RateLimited

WINDOW_S: Final = 15 * 60
PER_LOGIN_ADDRESS: Final = 5
"""Failures for one login from one address within the window (guards against guessing)."""
PER_LOGIN = PER_LOGIN_ADDRESS  # the name older callers know
PER_ADDRESS: Final = 30
"""Failures from one client address within the window (guards against spraying many logins)."""
SLOW_DOWN_AFTER: Final = 5
"""Failures for one login from all addresses after which its attempts are slowed down."""
DELAY_STEP_S = 0.5
"""Added delay per failure beyond `SLOW_DOWN_AFTER` (a module value so tests can shrink it)."""
DELAY_MAX_S = 5.0
TOKEN_LOGIN: Final = "token:"


class LoginFailureRow(Base):
    """One failed login attempt."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_login_at", "login", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(200))
    """Lower-cased login name, or `token:` for a token login."""
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TooManyAttempts(RateLimited):
    """Logins are refused for now; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        message = f"too many failed logins; try again in {retry_after_s} s"
        super().__init__("login", retry_after_s, message)


def login_key(login: str) -> str:
    return login.strip().lower()[:200] or TOKEN_LOGIN


def _wait_s(session: Session, where: list[Any], limit: int, now: dt.datetime) -> float:
    since = now - dt.timedelta(seconds=WINDOW_S)
    times = list(
        session.scalars(
            select(LoginFailureRow.at)
            .where(*where, LoginFailureRow.at > since)
            .order_by(LoginFailureRow.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return 0.0
    # Refused until the limit-th newest failure leaves the window.
    return (times[-1] + dt.timedelta(seconds=WINDOW_S) - now).total_seconds()


def check_allowed(session: Session, login: str, address: str) -> float:
    """Raise `TooManyAttempts` when this login from this address, or this address, is locked
    for now; otherwise the seconds to wait before checking the password (0 mostly)."""
    now = utcnow()
    key, address = login_key(login), address[:64]
    by_address = LoginFailureRow.address == address
    wait = max(
        _wait_s(session, [LoginFailureRow.login == key, by_address], PER_LOGIN_ADDRESS, now),
        _wait_s(session, [by_address], PER_ADDRESS, now),
    )
    if wait > 0:
        raise TooManyAttempts(max(1, math.ceil(wait)))
    return 0.0 if key == TOKEN_LOGIN else delay_s(session, key, now)


def delay_s(session: Session, key: str, now: dt.datetime) -> float:
    """How long an attempt for this login waits, by its failures from every address."""
    since = now - dt.timedelta(seconds=WINDOW_S)
    failures = int(
        session.scalar(
            select(func.count())
            .select_from(LoginFailureRow)
            .where(LoginFailureRow.login == key, LoginFailureRow.at > since)
        )
        or 0
    )
    if failures < SLOW_DOWN_AFTER:
        return 0.0
    return min(DELAY_MAX_S, DELAY_STEP_S * (failures - SLOW_DOWN_AFTER + 1))


def record_failure(session: Session, login: str, address: str) -> None:
    session.add(LoginFailureRow(login=login_key(login), address=address[:64]))
    session.flush()


def record_success(session: Session, login: str, address: str) -> None:
    session.execute(
        delete(LoginFailureRow).where(
            LoginFailureRow.login == login_key(login), LoginFailureRow.address == address[:64]
        )
    )


def prune(session: Session) -> int:
    """Forget failures older than the window (called now and then by logins)."""
    cutoff = utcnow() - dt.timedelta(seconds=WINDOW_S)
    result = session.execute(delete(LoginFailureRow).where(LoginFailureRow.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
