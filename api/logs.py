"""Logging: JSON lines when not on a terminal, readable text on one; secrets never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# `Bearer x`, `Basic x`, `token=x`, `password: x`, `"password": "x"` (JSON), `sedno_token=x`,
# our `sdn_…` tokens: the value is replaced up to the next quote, space or separator.
_SECRET = re.compile(
    r"""(?i)(bearer\s+|basic\s+|(?:token|password|passwd|secret|pat)["']?\s*[=:]\s*["']?|sdn_)"""
    r"""[^\s"'&;,]+"""
)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            data["request_id"] = request_id
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int = logging.INFO) -> None:
    from api.middleware import RequestIdLogFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdLogFilter())
    if sys.stderr.isatty():
        handler.setFormatter(
            TextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces its plugins and dialect each time a command opens the database;
    # `sedno migrate` turns it back on, so `make run` shows them once (`-v`: always).
    logging.getLogger("alembic").setLevel(level if level < logging.INFO else logging.WARNING)
    # WeasyPrint logs each step of every print ("Fetching and parsing CSS") at INFO.
    logging.getLogger("weasyprint").setLevel(level if level < logging.INFO else logging.WARNING)
