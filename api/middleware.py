"""What every request passes through before its handler: the request id and the access log
line, the client's real address (behind trusted proxies only) and the body guard (JSON depth
limit, content type of JSON routes)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import time
import types
import typing
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any, Final

import msgspec
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPRequestEvent, Message, Receive, ReceiveMessage, Scope, Send

from api import metrics
from api.deps import CSRF_VERIFIED, SAFE_METHODS, SESSION_COOKIE_OPT, TOKEN_COOKIE
from api.errors import MalformedBody, RequestTooLarge, UnsupportedMediaType
from tickets.core.outbox import request_id_var
from tickets.domain.errors import ValidationFailed

HEADER: Final = "x-request-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

access_log = logging.getLogger("sedno.access")


def incoming_or_new(value: str | None) -> str:
    """The caller's id when it is a sane token (a proxy's or a client's), else a fresh one."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware(ASGIMiddleware):
    """Sets the request id for the request's duration and echoes it in `X-Request-ID`."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        raw = dict(scope.get("headers", [])).get(HEADER.encode())
        request_id = incoming_or_new(raw.decode("latin-1") if raw else None)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        except Exception as exc:
            # A refusal raised by a middleware (CSRF, body guard) is answered by Litestar's
            # outermost handler after this returns: count and log it as what it is.
            status = status_code_of(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            method = str(scope.get("method", ""))
            metrics.HTTP_REQUESTS.inc(method=method, status=str(status))
            # The path only: query strings may carry search text, never credentials here.
            access_log.info(
                "%s %s %d %.1fms", method, scope.get("path", ""), status, elapsed * 1000
            )
            request_id_var.reset(token)


def status_code_of(exc: Exception) -> int:
    """The status an exception escaping the handler stack is answered with."""
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) and 400 <= code < 600 else 500


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


# Client address --------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    """`SEDNO_TRUSTED_PROXIES` entries (addresses or CIDR blocks) as networks."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5050"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The address a request really comes from.

    The connection's peer, unless the peer is a trusted proxy; then the right-most entry of
    `X-Forwarded-For` that is not itself a trusted proxy (entries left of it were written by
    the client and prove nothing). A malformed entry stops the walk: it is the client's.
    """
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    entries = [e.strip() for header in forwarded_for for e in header.split(",") if e.strip()]
    for entry in reversed(entries):
        if not _is_trusted(entry, trusted):
            parsed = _address(entry)
            return str(parsed) if parsed is not None else peer
    return entries[0] if entries else peer


def _is_trusted(value: str, trusted: tuple[Network, ...]) -> bool:
    address = _address(value)
    return address is not None and any(address in network for network in trusted)


class ClientAddressMiddleware(ASGIMiddleware):
    """Puts the real client address into `scope["client"]`, which the rate limits read."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, trusted_proxies: tuple[str, ...]) -> None:
        self.trusted = parse_networks(trusted_proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        peer = scope.get("client")
        if self.trusted and peer:
            forwarded = [
                v.decode("latin-1")
                for k, v in scope.get("headers", [])
                if k.lower() == b"x-forwarded-for"
            ]
            real = client_address(str(peer[0]), forwarded, self.trusted)
            if real != peer[0]:
                scope["client"] = (real, 0)
        await next_app(scope, receive, send)


# The body guard --------------------------------------------------------------------------------

MAX_JSON_DEPTH: Final = 32
"""Nesting depth of arrays and objects a JSON body may have (no route needs more than 4)."""
_JSON_STRING: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS_ONLY: Final = bytes(range(256)).translate(None, b"[]{}")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit` anywhere in a JSON text."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot nest deeper than the brackets it has (the usual case)
    depth = 0
    for char in _JSON_STRING.sub(b"", body).translate(None, _BRACKETS_ONLY):
        if char in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


_NO_BODY: Final = object()


@functools.cache
def json_body_type(handler: object) -> Any:
    """The type a route handler decodes its JSON body into (`data: JSONBody[T]`); `Any` for a
    handler that reads JSON itself (`opt["json_body"]`); `_NO_BODY` for other handlers."""
    opt = getattr(handler, "opt", None) or {}
    signature = getattr(handler, "parsed_fn_signature", None)
    data = signature.parameters.get("data") if signature is not None else None
    if data is None:
        return Any if opt.get("json_body") else _NO_BODY
    media = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    return data.annotation if media == RequestEncodingType.JSON else _NO_BODY


def takes_json_body(handler: object) -> bool:
    return json_body_type(handler) is not _NO_BODY


INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
"""Integers a request may carry: what every id and counter column holds on PostgreSQL."""


def decode_strictly(body: bytes, target: Any) -> None:
    """Decode the body as the handler's type with msgspec's strict rules, which Litestar's own
    decoding relaxes (`"1"` for an int, `0` for a bool or a date): a 400 naming the field.

    JSON Schema counts `5.0` as an integer, so an integral float is taken as one; an integer
    beyond 32 bits is refused here, naming its field, not by the database or an engine."""
    if target is Any or target is _NO_BODY or not body.strip():
        return
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedBody(f"the body is not JSON: {exc}") from None
    try:
        msgspec.convert(_json_numbers(raw, "$"), type=target, strict=True)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None


def _invalid(message: str) -> ValidationException:
    return ValidationException(
        detail=message, extra=[{"key": None, "message": message, "source": "body"}]
    )


def _json_numbers(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise _invalid(f"{value} is out of range ({INT_MIN}..{INT_MAX}) - at `{path}`")
        return value
    if isinstance(value, float) and value.is_integer():
        return _json_numbers(int(value), path)
    if isinstance(value, list):
        return [_json_numbers(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _json_numbers(v, f"{path}.{k}") for k, v in value.items()}
    return value


def _body_limit(handler: object, default: int) -> int:
    """The route's own body limit (the mail pipe takes more than JSON routes), else `default`."""
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    own = resolve() if callable(resolve) else None
    return own if isinstance(own, int) and own > 0 else default


class BodyGuardMiddleware(ASGIMiddleware):
    """JSON routes take JSON only (415 otherwise: a `text/plain` post is a CORS-simple request
    any page can send); a JSON body, on any route, nests at most `max_depth` deep (400)."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        check_integer_parameters(scope)
        if scope.get("method", "GET") in SAFE_METHODS:
            await next_app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length", b"").strip()
        max_bytes = _body_limit(scope.get("route_handler"), self.max_bytes)
        if length.isdigit() and int(length) > max_bytes:
            raise RequestTooLarge(
                f"the request body is {int(length)} bytes, over the limit of {max_bytes}"
            )
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        if not is_json_type(content_type):
            if takes_json_body(scope.get("route_handler")) and _has_body(headers):
                media = content_type.split(";", 1)[0].strip() or "none"
                raise UnsupportedMediaType(f"send the body as application/json, not {media}")
            if content_type.lower().startswith("multipart/form-data"):
                head, receive = await _peek(receive, MULTIPART_HEAD_BYTES)
                check_file_names(head)
            await next_app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_bytes)
        if json_depth_exceeds(body, self.max_depth):
            raise MalformedBody(f"the JSON body nests deeper than {self.max_depth} levels")
        decode_strictly(body, json_body_type(scope.get("route_handler")))
        await next_app(scope, _replay(body, receive), send)


@functools.cache
def integer_parameters(handler: object) -> tuple[tuple[str, str], ...]:
    """(name, `path` or `query`) of a handler's integer parameters."""
    signature = getattr(handler, "parsed_fn_signature", None)
    found: list[tuple[str, str]] = []
    for name, field in (signature.parameters if signature is not None else {}).items():
        kwarg = field.kwarg_definition
        if not _is_int(field.annotation) or name in ("data", "actor", "container"):
            continue
        location = getattr(kwarg, "param_type", None)
        external = getattr(kwarg, "query", None) or getattr(kwarg, "header", None) or name
        found.append((external, str(getattr(location, "value", location) or "query")))
    return tuple(found)


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return (
        bool(args)
        and typing.get_origin(annotation) in (typing.Union, types.UnionType)
        and all(a is int for a in args)
    )


def check_integer_parameters(scope: Scope) -> None:
    """Integers in the path and the query are 32-bit, as the document says: a 400 naming the
    parameter, not the database's overflow (or, on SQLite, an offset nothing can reach)."""
    wanted = integer_parameters(scope.get("route_handler"))
    if not wanted:
        return
    query = dict(urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    path = scope.get("path_params", {})
    for name, location in wanted:
        raw = path.get(name) if location == "path" else query.get(name)
        try:
            value = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            continue  # not a number at all: Litestar refuses it, naming it
        if value is not None and not INT_MIN <= value <= INT_MAX:
            message = f"{value} is out of range ({INT_MIN}..{INT_MAX})"
            raise ValidationException(
                detail=message, extra=[{"key": name, "message": message, "source": location}]
            )


MAX_FILE_NAME: Final = 255
"""Characters a file name may have (what file systems keep; longer ones are cut to 200)."""
MULTIPART_HEAD_BYTES: Final = 64 * 1024
_FILE_NAME: Final = re.compile(rb'filename\*?=(?:"((?:[^"\\]|\\.)*)"|([^;\r\n]*))', re.IGNORECASE)


def check_file_names(head: bytes) -> None:
    """A file name over `MAX_FILE_NAME` characters is refused naming its real length (the
    multipart parser would refuse its header line as a bare "Request Entity Too Large")."""
    disposition = b"\n".join(
        line for line in head.split(b"\n") if line.lower().startswith(b"content-disposition:")
    )
    for match in _FILE_NAME.finditer(disposition):
        raw = match.group(1) if match.group(1) is not None else match.group(2)
        name = urllib.parse.unquote(raw.decode("utf-8", "replace").split("''", 1)[-1])
        if len(name) > MAX_FILE_NAME:
            raise ValidationFailed(
                "filename", f"{len(name)} characters is over the limit of {MAX_FILE_NAME}"
            )


async def _peek(receive: Receive, size: int) -> tuple[bytes, Receive]:
    """The first `size` bytes of the body (or all of it), and a receive that replays them."""
    chunks: list[bytes] = []
    more = True
    while more and sum(map(len, chunks)) < size:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    head = b"".join(chunks)
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            event: HTTPRequestEvent = {"type": "http.request", "body": head, "more_body": more}
            return event
        return await receive()

    return head, replay


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length", b"").strip()
    return b"transfer-encoding" in headers or (length not in (b"", b"0"))


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise RequestTooLarge(f"the request body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> ReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            event: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return event
        return await receive()

    return replay


# The session cookie on the JSON API -------------------------------------------------------------


class SessionCookieCsrfMiddleware(ASGIMiddleware):
    """A change made through the JSON API with the UI's session cookie instead of a bearer
    token must carry the UI's CSRF token (`X-CSRFToken`); `protect` is the UI's CSRF check."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, protect: Callable[[ASGIApp], ASGIApp]) -> None:
        self.protect = protect
        self._guarded: dict[int, ASGIApp] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        if (
            scope.get("method", "GET") in SAFE_METHODS
            or getattr(handler, "opt", {}).get(SESSION_COOKIE_OPT)
            or not _cookie_without_bearer(scope)
        ):
            await next_app(scope, receive, send)
            return
        guarded = self._guarded.get(id(next_app))
        if guarded is None:

            async def verified(scope: Scope, receive: Receive, send: Send) -> None:
                scope[CSRF_VERIFIED] = True  # type: ignore[literal-required]
                await next_app(scope, receive, send)

            guarded = self._guarded[id(next_app)] = self.protect(verified)
        await guarded(scope, receive, send)


def _cookie_without_bearer(scope: Scope) -> bool:
    headers = dict(scope.get("headers", []))
    if headers.get(b"authorization", b"").lower().startswith(b"bearer "):
        return False
    return TOKEN_COOKIE.encode() + b"=" in headers.get(b"cookie", b"")


# Allow ------------------------------------------------------------------------------------------


class AllowHeaderMiddleware(ASGIMiddleware):
    """`OPTIONS` names every method of the path. Litestar makes one `OPTIONS` handler per
    route, so a path whose GET and POST live in separate handlers advertised only one."""

    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self) -> None:
        self._methods: dict[str, str] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        if scope.get("method") != "OPTIONS" or handler is None:
            await next_app(scope, receive, send)
            return
        allow = self._allowed(scope["litestar_app"], getattr(handler, "paths", set()))

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and allow:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", allow.encode()))
                message["headers"] = headers
            await send(message)

        await next_app(scope, receive, send_with_allow)

    def _allowed(self, app: Any, paths: set[str]) -> str:
        key = "|".join(sorted(paths))
        if key not in self._methods:
            methods: set[str] = set()
            for route in app.routes:
                if route.path in paths:
                    methods.update(getattr(route, "methods", ()))
            self._methods[key] = ", ".join(sorted(methods))
        return self._methods[key]
