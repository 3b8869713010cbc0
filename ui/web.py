"""What every UI page shares: templates, security headers, CSRF, language, login redirects."""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import re
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.middleware import ASGIMiddleware, DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.container import Container
from api.deps import TOKEN_COOKIE, bearer_token, container_of
from api.errors import domain_status
from tickets.accounts.auth import authenticate_token, has_role
from tickets.core.schemas import Actor
from tickets.domain.errors import DomainError
from ui import i18n, labels

UI_DIR: Final = Path(__file__).resolve().parent
TEMPLATE_DIR: Final = UI_DIR / "templates"
STATIC_DIR: Final = UI_DIR / "static"
LANG_COOKIE: Final = "sedno_lang"
OFFICE_TZ: Final = ZoneInfo("Europe/Warsaw")
CSRF_COOKIE: Final = "sedno_csrf"

# Everything the page itself loads comes from this origin; mail HTML is shown in a sandboxed
# srcdoc frame, which inherits this policy, so it can neither run scripts nor fetch images.
CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
SECURITY_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


class SecurityHeadersMiddleware(ASGIMiddleware):
    """Adds the strict CSP and the other security headers to every UI response."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                headers.extend(SECURITY_HEADERS)
                message["headers"] = headers
            await send(message)

        await next_app(scope, receive, send_with_headers)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """The Jinja2 engine over `ui/templates`, autoescaping everything."""

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals["snippet"] = snippet_markup
        engine.engine.filters["when"] = _when
        engine.engine.filters["number"] = _number
        engine.engine.globals["count_text"] = i18n.count_text
        engine.engine.globals.update(labels.HELPERS)

    return TemplateConfig(
        directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=configure
    )


def csrf_secret(container: Container) -> str:
    """A per-installation secret kept in the data dir, so every replica signs alike."""
    return _secret_in(container.settings.data_dir / "ui-csrf-secret")


@functools.cache
def _secret_in(path: Path) -> str:
    if not path.exists():
        # Written aside and linked into place, so a racing replica never reads half a file.
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
        draft.write_text(secrets.token_urlsafe(32), "ascii")
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text("ascii").strip()


def csrf_middleware(secret: str) -> DefineMiddleware:
    """Double-submit CSRF check on the UI's form posts only (the UI router carries it)."""
    return DefineMiddleware(
        CSRFMiddleware,
        config=CSRFConfig(
            secret=secret,
            cookie_name=CSRF_COOKIE,
            cookie_httponly=True,
            cookie_samesite="lax",
        ),
    )


# Language and rendering ---------------------------------------------------------------------


def language(request: Request[Any, Any, Any]) -> str:
    lang = request.cookies.get(LANG_COOKIE, "pl")
    return lang if lang in i18n.LANGUAGES else "pl"


MAX_NEXT_CHARS: Final = 2000
"""The longest local path a redirect goes back to (the login form's `next` takes no longer one);
a longer one would make a `Location` header that proxies and HTTP clients refuse."""


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a local path of at most `MAX_NEXT_CHARS` may follow a login or a language switch
    (no open redirect, no oversized `Location`)."""
    if (
        not target
        or len(target) > MAX_NEXT_CHARS
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return default
    return target


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """Render a page with the language, the actor and the CSRF token in its context."""
    lang = language(request)
    return Template(
        template_name=template,
        context={
            "t": i18n.translator(lang),
            "lang": lang,
            "actor": actor,
            "is_admin": actor is not None and has_role(actor, "admin"),
            "is_curator": actor is not None and has_role(actor, "curator"),
            "has_curation": True,  # the curation page is always mounted (ui.views)
            "path": request.url.path,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            **context,
        },
        status_code=status_code,
    )


_MARK: Final = re.compile(r"(</?mark>)")


def require_role_page(
    request: Request[Any, Any, Any], actor: Actor, role: str, key: str
) -> Template | None:
    """None when `actor` has `role`; else the 403 page saying catalogue message `key` in the
    page's language (pages answer a browser, so not problem+json)."""
    if has_role(actor, role):
        return None
    detail = i18n.translator(language(request))(key)
    return page(request, "error.html", actor=actor, status_code=403, detail=detail)


def snippet_markup(raw: str) -> str:
    """Engine snippets hold escaped ticket text with `<mark>` tags: keep those tags, escape the
    rest once (unescaping first, so text the engine escaped is not escaped twice)."""
    out = []
    for part in _MARK.split(raw or ""):
        out.append(part if part in ("<mark>", "</mark>") else html.escape(html.unescape(part)))
    return _balanced("".join(out))


def _balanced(text: str) -> str:
    depth = 0
    result = []
    for part in _MARK.split(text):
        if part == "<mark>":
            if depth:
                continue
            depth = 1
        elif part == "</mark>":
            if not depth:
                continue
            depth = 0
        result.append(part)
    if depth:
        result.append("</mark>")
    return "".join(result)


def local_time(at: dt.datetime | None, lang: str = "pl") -> str:
    """A timestamp as the office reads it (Warsaw time, the language's short form)."""
    if at is None:
        return ""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return i18n.date_time(lang, at, OFFICE_TZ)


@pass_context
def _when(context: Mapping[str, Any], at: dt.datetime | None) -> str:
    return local_time(at, context.get("lang", "pl"))


@pass_context
def _number(context: Mapping[str, Any], value: float) -> str:
    return i18n.number(context.get("lang", "pl"), value)


def mail_html(body_html: str | None) -> str | None:
    """Mail HTML cleaned once more at display time, whatever was stored (defence in depth)."""
    if not body_html:
        return None
    try:
        from intake.html import sanitize_html
    except ImportError:
        return None  # without the sanitiser, show the plain text only
    return sanitize_html(body_html)


# Who is asking ------------------------------------------------------------------------------


def current_actor(request: Request[Any, Any, Any]) -> Actor | None:
    """The logged-in user from the token cookie (or bearer header), without raising."""
    token = bearer_token(request)
    if not token:
        return None
    with container_of(request).db.read() as session:
        return authenticate_token(session, token)


def to_login(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    """A UI page without a valid cookie sends the browser to the login page."""
    target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    response: Response[Any] = Redirect(f"/login?next={quote(target)}")
    response.set_cookie(Cookie(key=TOKEN_COOKIE, value="", max_age=0, path="/"))
    return response


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Domain and HTTP errors on UI pages as a readable page instead of problem+json."""
    if isinstance(exc, NotAuthorizedException):
        return to_login(request, exc)
    status = exc.status_code if isinstance(exc, HTTPException) else domain_status(exc)
    t = i18n.translator(language(request))
    template = page(
        request,
        "error.html",
        actor=current_actor(request),
        status_code=status,
        detail=error_text(t, exc, status),
    )
    return template


def error_text(t: labels.Translate, exc: Exception, status: int) -> str:
    """What went wrong, in the page's language: the domain error's own data put into a
    catalogue sentence (never the English message meant for logs and the API)."""
    from tickets.domain.errors import InvalidTransition, NotFound, ValidationFailed

    if isinstance(exc, NotFound):
        what = t(f"error.what.{exc.what}", exc.what)
        return t("error.not_found").format(what=what, key=exc.key)
    if isinstance(exc, InvalidTransition):
        return t("error.transition").format(
            current=t(f"state.{exc.current}", exc.current),
            target=t(f"state.{exc.target}", exc.target),
        )
    if isinstance(exc, ValidationFailed):
        return t("error.invalid").format(field=t(f"field.{exc.field}", exc.field))
    if isinstance(exc, HTTPException) and exc.detail and status not in (404, 405):
        text = str(t(f"error.status.{status}", ""))
        return text or str(exc.detail)
    return str(t(f"error.status.{status}", t("error.status.400")))


def unknown_url_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A URL no route serves: the console's 404 page for a browser, problem+json for the API
    and for every client that does not ask for HTML."""
    from api.errors import http_error_handler

    path = request.url.path
    wants_html = "text/html" in request.headers.get("accept", "")
    if not wants_html or path.startswith(("/api/", "/schema", "/health", "/ready", "/metrics")):
        return http_error_handler(request, exc)
    return error_page(request, exc)


UI_EXCEPTION_HANDLERS: Final[dict[type[Exception] | int, Any]] = {
    NotAuthorizedException: to_login,
    HTTPException: error_page,
    DomainError: error_page,
}


# Start-up -----------------------------------------------------------------------------------


def warm_up() -> threading.Thread:
    """Import the modules whose first import is slow (intake loads its classifier's
    libraries) in the background, so the first visit of the queue does not wait on it."""

    def load() -> None:
        import intake.ingest  # noqa: F401
        import tickets.handoff.service  # noqa: F401

    thread = threading.Thread(target=load, name="sedno-ui-warm-up", daemon=True)
    thread.start()
    return thread


def on_startup(app: Any) -> None:
    app.state.ui_warm_up = warm_up()
