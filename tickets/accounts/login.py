"""Logging in, the one use case the login page calls: the attempt limits checked, the
password (or an API token) verified, the attempt counted, a session token issued."""

from __future__ import annotations

import msgspec
from sqlalchemy.orm import Session

from tickets.accounts.login_limits import check_allowed, record_failure, record_success
from tickets.accounts.sessions import open_session


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """What a login form sends: a login and password, or an API token."""

    login: str = ""
    password: str = ""
    token: str = ""


def login_delay(session: Session, login: str, address: str) -> float:
    """Seconds this attempt waits before its password is checked (failures for the login
    from elsewhere slow it down); raises `TooManyAttempts` when it is locked for now."""
    return check_allowed(session, login, address)


def log_in(session: Session, credentials: Credentials, address: str) -> str | None:
    """A session token for valid credentials, None otherwise; either way the attempt counts.
    Raises `TooManyAttempts` when another attempt locked the login meanwhile."""
    login = credentials.login
    check_allowed(session, login, address)
    token = open_session(
        session, login=login, password=credentials.password, token=credentials.token
    )
    if token is None:
        record_failure(session, login, address)
    else:
        record_success(session, login, address)
    return token
