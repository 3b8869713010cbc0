"""Request dependencies: the container and the authenticated actor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import SkipValidation
from sqlalchemy.orm import Session

from api.container import Container
from tickets.accounts.auth import authenticate_token_cached, has_role
from tickets.core.schemas import Actor, TicketView
from tickets.core.views import ticket_view

TOKEN_COOKIE = "sedno_token"
SESSION_COOKIE_OPT = "session_cookie"
"""Route `opt` key of the UI's pages: they take the session cookie (their router checks CSRF)."""
CSRF_VERIFIED = "sedno_csrf_verified"
"""Scope key set once a cookie-authenticated API request has shown a valid CSRF token."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def container_of(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


def header_token(request: Request[Any, Any, Any]) -> str | None:
    """The token of an `Authorization: Bearer` header."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    """The header's token, else the browser session's cookie (the UI's pages)."""
    return header_token(request) or request.cookies.get(TOKEN_COOKIE) or None


def session_cookie_allowed(request: Request[Any, Any, Any]) -> bool:
    """Whether the session cookie may stand for a bearer token on this request.

    A browser sends the cookie with requests other sites make it send, so a change through
    the cookie needs proof that our page made it: the UI's pages check their CSRF token, and
    a JSON API call must carry it in `X-CSRFToken` (checked by `SessionCookieCsrfMiddleware`).
    Reading (downloads, CSV) is harmless: another site cannot read the answer.
    """
    if request.route_handler.opt.get(SESSION_COOKIE_OPT):
        return True
    return request.method in SAFE_METHODS or bool(request.scope.get(CSRF_VERIFIED))


def provide_container(request: Request[Any, Any, Any]) -> Container:
    return container_of(request)


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The caller's identity; 401 without a valid token."""
    cached = request.scope.get("sedno_actor")
    if isinstance(cached, Actor):
        return cached
    token = header_token(request)
    if token is None and request.cookies.get(TOKEN_COOKIE):
        if not session_cookie_allowed(request):
            raise NotAuthorizedException(
                "the API takes a bearer token; a session cookie needs the X-CSRFToken header"
            )
        token = request.cookies[TOKEN_COOKIE]
    if not token:
        raise NotAuthorizedException("a bearer token is required")
    # A token checked a moment ago needs no database session (every keystroke of
    # as-you-type search is a request).
    actor = authenticate_token_cached(container_of(request).db, token)
    if actor is None:
        raise NotAuthorizedException("the token is not valid")
    request.scope["sedno_actor"] = actor  # type: ignore[typeddict-unknown-key]
    return actor


def require(actor: Actor, role: str) -> None:
    """403 unless the actor has `role` (or a higher one)."""
    if not has_role(actor, role):
        raise PermissionDeniedException(f"this needs the {role} role")


ContainerDep = SkipValidation[NamedDependency[Container]]
ActorDep = NamedDependency[Actor]


def changed_ticket(
    container: Container, ticket_id: int, change: Callable[[Session], object]
) -> TicketView:
    """Run one change to a ticket in its own transaction and answer the ticket as it then is
    (the shape of every route that acts on a ticket and returns it)."""
    with container.db.transaction() as s:
        change(s)
        return ticket_view(s, ticket_id)
