"""Request ids: taken from `X-Request-ID` or made, put in the log records, the response header
and every outbox job the request enqueues; one access log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Final

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from tickets.adapters.outbox import request_id_var

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
        finally:
            elapsed = time.perf_counter() - started
            method = str(scope.get("method", ""))
            metrics.HTTP_REQUESTS.inc(method=method, status=str(status))
            # The path only: query strings may carry search text, never credentials here.
            access_log.info(
                "%s %s %d %.1fms", method, scope.get("path", ""), status, elapsed * 1000
            )
            request_id_var.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True
