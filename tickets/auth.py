"""Users, roles and bearer tokens (stored hashed), passwords (scrypt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.adapters.db import utcnow
from tickets.adapters.orm import ApiTokenRow, UserRow
from tickets.domain.errors import Conflict, PermissionDenied, ValidationFailed
from tickets.schemas import Actor

Role = Literal["consultant", "curator", "admin"]
ROLES: tuple[str, ...] = ("consultant", "curator", "admin")
# Each role may do what the roles before it may.
_RANK = {role: i for i, role in enumerate(ROLES)}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "sdn_" + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2**14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt_b64, digest_b64 = stored.split("$", 2)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=base64.b64decode(salt_b64), n=2**14, r=8, p=1
    )
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def has_role(actor: Actor, role: str) -> bool:
    return _RANK.get(actor.role, -1) >= _RANK[role]


def require_role(actor: Actor, role: str) -> None:
    if not has_role(actor, role):
        raise PermissionDenied(f"this needs the {role} role")


def create_user(
    session: Session,
    *,
    login: str,
    name: str,
    role: str,
    email: str | None = None,
    password: str | None = None,
) -> tuple[UserRow, str]:
    """Add a user and give them a first API token (returned once, stored hashed)."""
    if role not in ROLES:
        raise ValidationFailed("role", f"must be one of {', '.join(ROLES)}")
    if session.scalar(select(UserRow).where(UserRow.login == login)) is not None:
        raise Conflict(f"user {login!r} exists", slug="duplicate-user")
    user = UserRow(
        login=login,
        name=name,
        role=role,
        email=email,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    return user, issue_token(session, user, "initial")


def issue_token(session: Session, user: UserRow, name: str = "") -> str:
    token = new_token()
    session.add(ApiTokenRow(user_id=user.id, token_hash=hash_token(token), name=name))
    session.flush()
    return token


def actor_of(user: UserRow) -> Actor:
    return Actor(user.id, user.name or user.login, user.role)


def authenticate_token(session: Session, token: str) -> Actor | None:
    """The user a bearer token belongs to, or None."""
    row = session.scalar(
        select(ApiTokenRow).where(
            ApiTokenRow.token_hash == hash_token(token), ApiTokenRow.revoked.is_(False)
        )
    )
    if row is None:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or not user.active:
        return None
    return actor_of(user)


def authenticate_password(session: Session, login: str, password: str) -> UserRow | None:
    user = session.scalar(select(UserRow).where(UserRow.login == login, UserRow.active.is_(True)))
    if user is None:
        check_password(password, hash_password("timing-equaliser"))
        return None
    return user if check_password(password, user.password_hash) else None


def ensure_bootstrap_admin(session: Session, admin_token: str | None) -> None:
    """Make `SEDNO_ADMIN_TOKEN` a valid admin bearer token (idempotent)."""
    if not admin_token:
        return
    digest = hash_token(admin_token)
    if session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == digest)) is not None:
        return
    user = session.scalar(select(UserRow).where(UserRow.login == "admin"))
    if user is None:
        user = UserRow(login="admin", name="Administrator", role="admin")
        session.add(user)
        session.flush()
    session.add(
        ApiTokenRow(
            user_id=user.id, token_hash=digest, name="SEDNO_ADMIN_TOKEN", last_used_at=utcnow()
        )
    )
    session.flush()
