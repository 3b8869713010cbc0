"""Login attempt limits, kept in the database so that every API replica counts the same.

Failed logins are recorded per login name and per client address. After `PER_LOGIN` failures
for one login, or `PER_ADDRESS` failures from one address, within `WINDOW_S`, further attempts
are refused (HTTP 429 with `Retry-After`) until enough of those failures have aged out of the
window. A successful login clears the failures of that login from that address.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final

from sqlalchemy import Index, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tickets.adapters.db import Base, utcnow

WINDOW_S: Final = 15 * 60
PER_LOGIN: Final = 5
"""Failures for one login name within the window (guards one account against guessing)."""
PER_ADDRESS: Final = 30
"""Failures from one client address within the window (guards against spraying many logins)."""


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


class TooManyAttempts(Exception):
    """Logins are refused for now; try again after `retry_after_s` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def login_key(login: str) -> str:
    return login.strip().lower()[:200] or "token:"


def _wait_s(session: Session, column: str, value: str, limit: int, now: dt.datetime) -> float:
    since = now - dt.timedelta(seconds=WINDOW_S)
    col = getattr(LoginFailureRow, column)
    times = list(
        session.scalars(
            select(LoginFailureRow.at)
            .where(col == value, LoginFailureRow.at > since)
            .order_by(LoginFailureRow.at.desc())
            .limit(limit)
        )
    )
    if len(times) < limit:
        return 0.0
    # Refused until the limit-th newest failure leaves the window.
    return (times[-1] + dt.timedelta(seconds=WINDOW_S) - now).total_seconds()


def check_allowed(session: Session, login: str, address: str) -> None:
    """Raise `TooManyAttempts` when this login or this address is locked out for now."""
    now = utcnow()
    wait = max(
        _wait_s(session, "login", login_key(login), PER_LOGIN, now),
        _wait_s(session, "address", address[:64], PER_ADDRESS, now),
    )
    if wait > 0:
        raise TooManyAttempts(max(1, math.ceil(wait)))


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
