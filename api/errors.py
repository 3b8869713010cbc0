"""One map from domain errors to RFC 9457 problem details."""

from __future__ import annotations

import logging
from typing import Any, Final

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DataError, IntegrityError

from tickets.domain.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RateLimited,
    TooLarge,
    Unavailable,
    ValidationFailed,
)

PROBLEM = "application/problem+json"


class MalformedBody(ClientException):
    """A body no parser should be asked to read (JSON nested beyond the limit)."""

    status_code = 400
    slug = "malformed-body"
    field = "body"


class UnsupportedMediaType(ClientException):
    """A body in a media type the route does not take."""

    status_code = 415
    slug = "unsupported-media-type"


class RequestTooLarge(ClientException):
    """A request body over `request_max_bytes`."""

    status_code = 413
    slug = "too-large"


def problem(status: int, slug: str, title: str, detail: str = "", **extra: Any) -> Response[Any]:
    body = {"type": slug, "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM)


STATUS_OF_DOMAIN_ERROR: Final[tuple[tuple[type[DomainError], int], ...]] = (
    (InvalidTransition, 409),
    (NotFound, 404),
    (RateLimited, 429),
    (TooLarge, 413),
    (ValidationFailed, 422),
    (Conflict, 409),
    (PermissionDenied, 403),
    (Unavailable, 503),
)
"""Most specific first; any other domain error is the caller's (400)."""


def domain_status(exc: Exception) -> int:
    """The HTTP status of a domain error: the API's problem details and the UI's error page."""
    return next((code for kind, code in STATUS_OF_DOMAIN_ERROR if isinstance(exc, kind)), 400)


def _field_problem(status: int, slug: str, title: str, exc: ValidationFailed) -> Response[Any]:
    errors = [{"field": exc.field, "message": exc.message}]
    return problem(status, slug, title, str(exc), field=exc.field, errors=errors)


def domain_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = domain_status(exc)
    if isinstance(exc, InvalidTransition):
        return problem(
            status,
            "invalid-transition",
            "Invalid transition",
            str(exc),
            current=exc.current,
            target=exc.target,
            allowed=list(exc.allowed),
        )
    if isinstance(exc, NotFound):
        return problem(status, "not-found", "Not found", str(exc), resource=exc.what)
    if isinstance(exc, RateLimited):
        response = problem(status, "rate-limited", "Too many requests", str(exc), field=exc.field)
        response.headers["Retry-After"] = str(int(exc.retry_after_s))
        return response
    if isinstance(exc, TooLarge):
        return _field_problem(status, "too-large", "Too large", exc)
    if isinstance(exc, ValidationFailed):
        return _field_problem(status, "validation-failed", "Invalid value", exc)
    if isinstance(exc, Conflict):
        return problem(status, exc.slug, "Conflict", str(exc))
    if isinstance(exc, PermissionDenied):
        return problem(status, "forbidden", "Forbidden", str(exc))
    if isinstance(exc, Unavailable):
        return problem(status, f"{exc.service}-unavailable", "Service unavailable", str(exc))
    return problem(status, "bad-request", "Bad request", str(exc))


def _field_of(key: str | None, message: str) -> str | None:
    if key and key != "data":
        return key
    # msgspec: "Expected `int`, got `str` - at `$.client_id`"
    if "at `$." in message:
        return message.rsplit("at `$.", 1)[1].rstrip("`")
    if "required field `" in message:
        return message.split("required field `", 1)[1].split("`", 1)[0]
    if "unknown field `" in message:
        return message.split("unknown field `", 1)[1].split("`", 1)[0]
    return key


def validation_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, ValidationException)
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            errors.append(
                {
                    "field": _field_of(item.get("key"), message),
                    "message": message,
                    "source": item.get("source"),
                }
            )
    if not errors:
        errors.append(
            {"field": _field_of(None, exc.detail), "message": exc.detail, "source": "body"}
        )
    first = errors[0]
    return problem(
        400,
        "invalid-body",
        "Invalid request",
        f"{first['field'] or 'body'}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


def http_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    slug = {
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
        429: "rate-limited",
    }.get(exc.status_code, "http-error")
    slug = getattr(exc, "slug", slug)
    field = getattr(exc, "field", None)
    extra = {"field": field} if isinstance(field, str) else {}
    response = problem(exc.status_code, slug, exc.detail or slug, exc.detail or "", **extra)
    if exc.headers:
        response.headers.update(exc.headers)
    if isinstance(exc, NotAuthorizedException):
        response.headers["WWW-Authenticate"] = 'Bearer realm="sedno"'
    return response


def out_of_range_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A number the database cannot hold (an id or offset beyond 64 bits): the caller's error."""
    return problem(
        400,
        "out-of-range",
        "Value out of range",
        "a value in the request does not fit (too large a number or too long a text)",
    )


def integrity_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A reference to a record that does not exist, or a unique value taken twice."""
    return problem(
        409,
        "conflict",
        "Conflict",
        "the change refers to a record that does not exist or repeats a unique value",
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, RuntimeError) and isinstance(exc.__cause__, StopIteration):
        # Litestar's multipart extractor on a form without a file part (litestar 2.25).
        return problem(400, "invalid-body", "Invalid request", "a file part is required")
    logging.getLogger("sedno.api").error(
        "unhandled error on %s %s", request.method, request.url.path, exc_info=exc
    )
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error", "")


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    DomainError: domain_error_handler,
    ValidationException: validation_error_handler,
    HTTPException: http_error_handler,
    OverflowError: out_of_range_handler,
    DataError: out_of_range_handler,
    IntegrityError: integrity_error_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM", "MediaType", "problem"]


PROBLEM_STATUSES = ("400", "401", "403", "404", "409", "413", "415", "422", "429", "503")


def document_problem_responses(openapi: Any) -> None:
    """Declare in the OpenAPI document the problem+json answers every operation can give
    (auth, missing records, conflicts, limits, validation), so clients and schemathesis know
    them; an operation's own declared answers are kept."""
    from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Reference, Schema
    from litestar.openapi.spec.enums import OpenAPIType

    schemas = openapi.components.schemas
    schemas["Problem"] = Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status"],
        properties={
            "type": Schema(type=OpenAPIType.STRING),
            "title": Schema(type=OpenAPIType.STRING),
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": Schema(type=OpenAPIType.STRING),
        },
        description="RFC 9457 problem details; `type` is a stable slug.",
    )
    media = OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses or {}
            for status in PROBLEM_STATUSES:
                existing = responses.get(status)
                if path == "/ready" and status == "503" and "200" in responses:
                    responses[status] = responses["200"]  # the same report, naming the failure
                elif isinstance(existing, OpenAPIResponse):
                    existing.content = {**(existing.content or {}), PROBLEM: media}
                elif existing is None:
                    responses[status] = OpenAPIResponse(
                        description="Problem details", content={PROBLEM: media}
                    )
            operation.responses = responses
