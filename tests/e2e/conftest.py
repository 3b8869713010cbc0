"""The HTTP API through Litestar's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from tickets.accounts.auth import create_user, ensure_bootstrap_admin
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import load_settings

ADMIN = "test-admin-token"


class Api(msgspec.Struct):
    client: TestClient  # type: ignore[type-arg]
    container: Container
    tokens: dict[str, str]

    def h(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[Api]:
    settings = load_settings(
        {
            "SEDNO_DATA_DIR": str(tmp_path / "data"),
            "SEDNO_ADMIN_TOKEN": ADMIN,
            "SEDNO_DATABASE_URL": db.url,
        }
    )
    tokens = {"admin": ADMIN}
    with db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
        for role in ("consultant", "curator"):
            _, tokens[role] = create_user(
                s, login=role, name=role.title(), role=role, email=f"{role}@example.pl"
            )
    container = Container(settings=settings, db=db, blobs=BlobStore(tmp_path / "data" / "blobs"))
    app = create_app(settings, container=container, run_workers=False)
    with TestClient(app) as client:
        yield Api(client=client, container=container, tokens=tokens)
