"""A real SMTP server (aiosmtpd) on a free port that keeps every message it receives."""

from __future__ import annotations

import contextlib
import email
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from tests.services.postgres import free_port


class Received:
    """One delivered message: envelope and parsed content."""

    def __init__(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> None:
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.content = content
        parsed = email.message_from_bytes(content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.message: EmailMessage = parsed


class CollectingHandler:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        with self._lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.handler = CollectingHandler()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[Received]:
        return list(self.handler.messages)

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.handler.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()
