"""What a capability may ask of the composition root's container, as a typed dependency.

Capabilities never import `api/`: they type their entry points (outbox registration,
scheduled jobs) against `Runtime` or a Protocol extending it, and `api.bootstrap.Container`
satisfies each of them structurally (mypy checks it where the root passes the container in).
"""

from __future__ import annotations

from typing import Protocol

from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import Settings


class Runtime(Protocol):
    """The process-wide parts: settings, database, blob store."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database: ...

    @property
    def blobs(self) -> BlobStore: ...
