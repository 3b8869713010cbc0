"""Domain errors: they carry data and know nothing of HTTP (api/errors.py maps them)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user can cause."""


class InvalidTransition(DomainError):
    """A move the ticket's definition does not allow from its current state."""

    def __init__(self, current: str, target: str, allowed: tuple[str, ...]) -> None:
        self.current = current
        self.target = target
        self.allowed = allowed
        allowed_text = ", ".join(allowed) or "none"
        super().__init__(f"cannot move from {current!r} to {target!r}; allowed: {allowed_text}")


class NotFound(DomainError):
    def __init__(self, what: str, key: object) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} not found")


class ValidationFailed(DomainError):
    """Input that is well-formed but not acceptable; names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, already done)."""

    def __init__(self, message: str, slug: str = "conflict") -> None:
        self.slug = slug
        super().__init__(message)


class PermissionDenied(DomainError):
    def __init__(self, message: str = "your role may not do this") -> None:
        super().__init__(message)


class TooLarge(ValidationFailed):
    """A value over its size limit; `limit` is the maximum (in the field's own unit)."""

    def __init__(self, field: str, limit: int, message: str | None = None) -> None:
        self.limit = limit
        super().__init__(field, message or f"longer than {limit} characters")


class RateLimited(ValidationFailed):
    """Too many attempts from one source for now; try again after `retry_after_s` seconds.

    `field` names what is counted (a login, a client address, a sender address).
    """

    def __init__(self, field: str, retry_after_s: int, message: str | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(field, message or f"too many attempts; try again in {retry_after_s} s")


class Unavailable(DomainError):
    """A service the use case needs does not answer now (the search engine, say)."""

    def __init__(self, service: str, reason: str) -> None:
        self.service = service
        self.reason = reason
        super().__init__(f"{service} is unavailable: {reason}")
