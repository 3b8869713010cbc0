"""The HTTP API through Litestar's test client, on SQLite and PostgreSQL.

Building the Litestar app (signature models of some 350 handlers, the OpenAPI document at
start-up) costs about a second of CPU, more than most API tests themselves. The app keeps no
state of a test: everything a request touches comes from `app.state.container`. So one app
and one running test client serve a whole test process, and each test gets its own
container (its own database, data dir and blobs) put in the app's state, and an empty
cookie jar.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from api.container import Container
from tests.services.apps import app_fixture, container_of, serving
from tickets.accounts.auth import create_user, ensure_bootstrap_admin
from tickets.core.db import Database
from tickets.core.settings import Settings, load_settings

ADMIN = "test-admin-token"


class Api(msgspec.Struct):
    client: TestClient  # type: ignore[type-arg]
    container: Container
    tokens: dict[str, str]

    def h(self, role: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def api_settings(data_dir: Path, db: Database) -> Settings:
    return load_settings(
        {
            "SEDNO_DATA_DIR": str(data_dir),
            "SEDNO_ADMIN_TOKEN": ADMIN,
            "SEDNO_DATABASE_URL": db.url,
        }
    )


api_client = app_fixture(api_settings, scope="session")
"""One started app for the process; `api` swaps in each test's container."""


@pytest.fixture
def api(db: Database, tmp_path: Path, api_client: TestClient) -> Iterator[Api]:  # type: ignore[type-arg]
    settings = api_settings(tmp_path / "data", db)
    tokens = {"admin": ADMIN}
    with db.transaction() as s:
        ensure_bootstrap_admin(s, ADMIN)
        for role in ("consultant", "curator"):
            _, tokens[role] = create_user(
                s, login=role, name=role.title(), role=role, email=f"{role}@example.pl"
            )
    with serving(api_client, container_of(settings, db)) as client:
        yield Api(client=client, container=client.app.state.container, tokens=tokens)
