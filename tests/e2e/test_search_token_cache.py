"""As-you-type search trusts a just-verified token for a moment, but never past a revocation."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.e2e.conftest import Api
from tickets.accounts.auth import VerifiedTokens, hash_token, verified_tokens
from tickets.core.orm import ApiTokenRow, UserRow
from tickets.core.schemas import Actor


def _search_status(api: Api, role: str = "consultant") -> int:
    return api.client.get("/api/search", params={"q": "faktura"}, headers=api.h(role)).status_code


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    assert _search_status(api) == 200
    key = (api.container.db.url, hash_token(api.tokens["consultant"]))
    assert verified_tokens.get(key) is not None
    with api.container.db.transaction() as s:
        row = s.scalar(
            select(ApiTokenRow).where(
                ApiTokenRow.token_hash == hash_token(api.tokens["consultant"])
            )
        )
        assert row is not None
        row.revoked = True
    assert _search_status(api) == 401


def test_a_deactivated_user_or_a_bulk_change_is_refused_at_once(api: Api) -> None:
    assert _search_status(api) == 200
    assert _search_status(api, "curator") == 200
    with api.container.db.transaction() as s:
        s.execute(update(UserRow).where(UserRow.role == "consultant").values(active=False))
    assert _search_status(api) == 401
    with api.container.db.transaction() as s:
        user = s.scalar(select(UserRow).where(UserRow.role == "curator"))
        assert user is not None
        user.active = False
    assert _search_status(api, "curator") == 401


def test_verified_tokens_expire_and_stay_bounded() -> None:
    now = [0.0]
    cache = VerifiedTokens(ttl_s=5, max_size=2, clock=lambda: now[0])
    actor = Actor(1, "Ala", "consultant")
    a, b, c = ("db", "a"), ("db", "b"), ("db", "c")
    cache.put(a, actor, cache.generation)
    assert cache.get(a) == actor
    assert cache.get(("another-db", "a")) is None
    now[0] = 5.0
    assert cache.get(a) is None
    for key in (a, b, c):  # full at c: starts over rather than grow
        cache.put(key, actor, cache.generation)
    assert cache.get(c) == actor and cache.get(a) is None
    checked_at = cache.generation
    cache.clear()  # a token changed while `a` was being checked
    cache.put(a, actor, checked_at)
    assert cache.get(a) is None
