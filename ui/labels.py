"""Words for the codes the domain stores: dictionary values, field names, history actions,
attach reasons and link-check results, each looked up in the catalogue by a key built from
the code, so a Polish page never shows `bug`, `second_line_id` or `ConnectError`."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

Translate = Callable[..., str]

_ATTACH_PATTERNS: Final = (
    (re.compile(r"^accepted from intake call #(\d+)$"), "attach.accepted_call"),
    (re.compile(r"^signed Message-ID in In-Reply-To/References$"), "attach.signed_reply"),
    (re.compile(r"^acknowledgement on arrival$"), "attach.ack_arrival"),
    (re.compile(r"^acknowledgement$"), "attach.ack"),
)
_NETWORK_ERRORS: Final = ("ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException")
_VALUE_KEYS: Final = {"devops_state": "devops.state"}
"""Fields whose values have catalogue keys of their own (a work item's state, as on the page)."""


def value_label(t: Translate, field: str, value: Any) -> str:
    """A dictionary value in words (`bug` → "Błąd"); an admin's own value as it is."""
    if value is None or value == "":
        return "—"
    return t(f"{_VALUE_KEYS.get(field, 'value.' + field)}.{value}", str(value))


def field_label(t: Translate, field: str) -> str:
    return t(f"field.{field}", field.replace("_", " "))


def change_text(t: Translate, field: str, old: Any, new: Any) -> str:
    """One history line's change: "Drugi poziom: — → #4", values in words where known."""

    def shown(value: Any) -> str:
        if value is None or value == "":
            return "—"
        if field.endswith("_id") and isinstance(value, int):
            return f"#{value}"
        if isinstance(value, list):
            return ", ".join(str(v) for v in value) or "—"
        return value_label(t, field, value)

    return f"{field_label(t, field)}: {shown(old)} → {shown(new)}"


def attach_label(t: Translate, reason: str) -> str:
    """Why a mail joined the ticket, in words; an unknown reason as it is."""
    for pattern, key in _ATTACH_PATTERNS:
        if match := pattern.match(reason):
            return t(key).format(*match.groups())
    return t(f"attach.{reason}", reason)


def link_error_label(t: Translate, http_status: int | None, error: str) -> str:
    """A link-check result a curator can read: "strona nie istnieje (404)", "serwer nie
    odpowiada"."""
    if http_status is not None:
        key = {404: "link.not_found", 410: "link.gone", 403: "link.forbidden"}.get(http_status)
        if key is None:
            key = "link.server_error" if http_status >= 500 else "link.http_error"
        return t(key).format(status=http_status)
    if error.startswith(_NETWORK_ERRORS) or "timed out" in error.lower():
        return t("link.no_answer")
    if "Name or service not known" in error or "[Errno -2]" in error or "[Errno -3]" in error:
        return t("link.no_host")
    return t("link.failed")


HELPERS: Final = {
    "value_label": value_label,
    "field_label": field_label,
    "change_text": change_text,
    "attach_label": attach_label,
    "link_error_label": link_error_label,
}
