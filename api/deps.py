"""Request dependencies: the container and the authenticated actor."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import SkipValidation

from api.bootstrap import Container
from tickets.auth import authenticate_token_cached, has_role
from tickets.schemas import Actor

TOKEN_COOKIE = "sedno_token"


def container_of(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    cookie = request.cookies.get(TOKEN_COOKIE)
    return cookie or None


def provide_container(request: Request[Any, Any, Any]) -> Container:
    return container_of(request)


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The caller's identity; 401 without a valid token."""
    cached = request.scope.get("sedno_actor")
    if isinstance(cached, Actor):
        return cached
    token = bearer_token(request)
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
