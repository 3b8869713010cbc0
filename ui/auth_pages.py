"""Login, logout and the language switch."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from msgspec import Meta

from api.container import Container
from api.deps import TOKEN_COOKIE, ContainerDep
from tickets.accounts.login import Credentials, log_in, login_delay
from tickets.accounts.login_limits import TooManyAttempts
from tickets.accounts.sessions import close_session
from ui import i18n
from ui.web import LANG_COOKIE, MAX_NEXT_CHARS, current_actor, page, safe_next

SESSION_MAX_AGE = 12 * 3600


class LoginForm(msgspec.Struct, kw_only=True):
    login: Annotated[str, Meta(max_length=100)] = ""
    password: Annotated[str, Meta(max_length=200)] = ""
    token: Annotated[str, Meta(max_length=200)] = ""
    next: Annotated[str, Meta(max_length=MAX_NEXT_CHARS)] = "/"


@get("/login", sync_to_thread=True)
def login_form(request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Response[Any]:
    if current_actor(request) is not None:
        return Redirect(safe_next(next))
    return page(request, "login.html", next=safe_next(next))


@post("/login", status_code=303)
async def login_submit(
    request: Request[Any, Any, Any], container: ContainerDep, data: URLEncodedBody[LoginForm]
) -> Response[Any]:
    address = request.client.host if request.client else "unknown"
    try:
        # Failures for this login from elsewhere slow the attempt down (never lock it): the
        # wait is on the event loop, holding neither a worker thread nor a transaction.
        delay = await anyio.to_thread.run_sync(_check_allowed, container, data.login, address)
        if delay > 0:
            await anyio.sleep(delay)
        token = await anyio.to_thread.run_sync(_attempt_login, container, data, address)
    except TooManyAttempts as exc:
        locked = page(
            request,
            "login.html",
            status_code=429,
            next=safe_next(data.next),
            locked_s=exc.retry_after_s,
            login=data.login,
        )
        locked.headers["Retry-After"] = str(exc.retry_after_s)
        return locked
    if token is None:
        return page(
            request,
            "login.html",
            status_code=401,
            next=safe_next(data.next),
            error=True,
            login=data.login,
        )
    response: Response[Any] = Redirect(safe_next(data.next), status_code=303)
    response.set_cookie(
        Cookie(
            key=TOKEN_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
            max_age=SESSION_MAX_AGE,
        )
    )
    return response


def _check_allowed(container: Container, login: str, address: str) -> float:
    with container.db.read() as s:
        return login_delay(s, login, address)


def _attempt_login(container: Container, data: LoginForm, address: str) -> str | None:
    """A session token for valid credentials (None otherwise), the attempt counted."""
    credentials = Credentials(login=data.login, password=data.password, token=data.token)
    with container.db.transaction() as s:
        return log_in(s, credentials, address)


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: Request[Any, Any, Any], container: ContainerDep) -> Response[Any]:
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        with container.db.transaction() as s:
            close_session(s, token)
    response: Response[Any] = Redirect("/login?bye=1", status_code=303)
    response.set_cookie(Cookie(key=TOKEN_COOKIE, value="", max_age=0, path="/"))
    return response


@get("/lang/{code:str}", sync_to_thread=False)
def switch_language(code: FromPath[str], next: FromQuery[str] = "/") -> Response[Any]:
    response: Response[Any] = Redirect(safe_next(next))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            Cookie(key=LANG_COOKIE, value=code, samesite="lax", path="/", max_age=365 * 86400)
        )
    return response


__all__ = ["Template", "login_form", "login_submit", "logout", "switch_language"]
