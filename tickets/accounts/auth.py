"""Users, roles and bearer tokens (stored hashed), passwords (scrypt)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, object_session

from tickets.core.db import Database, utcnow
from tickets.core.orm import ApiTokenRow, UserRow
from tickets.core.schemas import Actor
from tickets.domain.errors import Conflict, PermissionDenied, ValidationFailed

Role = Literal["consultant", "curator", "admin"]
ROLES: tuple[str, ...] = ("consultant", "curator", "admin")
# Each role may do what the roles before it may.
_RANK = {role: i for i, role in enumerate(ROLES)}


TOKEN_CACHE_TTL_S = 5.0
"""How long a verified token is trusted without asking the database again.

A change made in this process (revoking a token, deactivating a user, changing a role)
takes effect at once; one made by another process within this many seconds.
"""
TOKEN_CACHE_SIZE = 10_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class VerifiedTokens:
    """Token hashes the database accepted a moment ago, with their actor (thread-safe).

    As-you-type search sends a request per keystroke; checking the token in the database
    each time costs more than the search. Entries live `ttl_s` seconds; any change to a
    token or user row in this process empties the cache (see the listeners below).
    """

    def __init__(
        self,
        ttl_s: float = TOKEN_CACHE_TTL_S,
        max_size: int = TOKEN_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[Actor, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0
        """Counts `clear()` calls: a check that began before one must not be remembered."""

    def get(self, key: tuple[str, str]) -> Actor | None:
        """The actor of (database URL, token hash), while fresh."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        actor, expires = entry
        if self._clock() >= expires:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return actor

    def put(self, key: tuple[str, str], actor: Actor, generation: int) -> None:
        """Remember a check that began at `generation` (forgotten if anything changed since)."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_size:
                self._entries.clear()
            self._entries[key] = (actor, self._clock() + self.ttl_s)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.generation += 1


verified_tokens = VerifiedTokens()


def authenticate_token_cached(db: Database, token: str) -> Actor | None:
    """`authenticate_token`, trusting a check made in the last few seconds (no session then)."""
    key = (db.url, hash_token(token))
    actor = verified_tokens.get(key)
    if actor is None:
        generation = verified_tokens.generation
        with db.read() as session:
            actor = authenticate_token(session, token)
        if actor is not None:
            verified_tokens.put(key, actor, generation)
    return actor


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


# Forgetting verified tokens --------------------------------------------------------------------
# At the change (this process stops trusting the old state at once) and again at the commit
# (a request that read the old, still committed, state in between cached it once more).

_AUTH_CHANGED = "sedno_auth_changed"


def _forget_verified_tokens(target: Any, *_: Any) -> None:
    if not inspect(target).has_identity:  # a new row: nothing verified depends on it yet
        return
    verified_tokens.clear()
    session = object_session(target)
    if session is not None:
        session.info[_AUTH_CHANGED] = True


def _forget_deleted(_mapper: Any, _connection: Any, target: Any) -> None:
    _forget_verified_tokens(target)


for _attribute in (
    ApiTokenRow.revoked,
    ApiTokenRow.token_hash,
    ApiTokenRow.user_id,
    UserRow.active,
    UserRow.role,
    UserRow.name,
    UserRow.login,
):
    event.listen(_attribute, "set", _forget_verified_tokens)
for _row in (ApiTokenRow, UserRow):
    event.listen(_row, "after_delete", _forget_deleted)


@event.listens_for(Session, "do_orm_execute")
def _forget_on_bulk_change(state: ORMExecuteState) -> None:
    """`update(UserRow)` / `delete(ApiTokenRow)` statements bypass the attribute events."""
    if (state.is_update or state.is_delete) and any(
        m.class_ in (ApiTokenRow, UserRow) for m in state.all_mappers
    ):
        verified_tokens.clear()
        state.session.info[_AUTH_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(_AUTH_CHANGED, False):
        verified_tokens.clear()
