"""Browser sessions: an API token issued at login, kept in an HttpOnly cookie, revoked at logout."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.accounts.auth import authenticate_password, authenticate_token, hash_token, issue_token
from tickets.core.orm import ApiTokenRow, UserRow

SESSION_TOKEN_NAME = "ui-session"


def open_session(session: Session, *, login: str, password: str, token: str) -> str | None:
    """A new session token for a valid password or API token; None when neither is valid."""
    user: UserRow | None = None
    if login and password:
        user = authenticate_password(session, login.strip(), password)
    elif token:
        actor = authenticate_token(session, token.strip())
        user = session.get(UserRow, actor.user_id) if actor and actor.user_id else None
    if user is None:
        return None
    return issue_token(session, user, SESSION_TOKEN_NAME)


def close_session(session: Session, token: str) -> None:
    """Revoke the token a browser session holds (never a user's own API token)."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token)))
    if row is not None and row.name == SESSION_TOKEN_NAME:
        row.revoked = True
        session.flush()
