"""Started apps that many tests share, each test answering from a container of its own.

Building the Litestar app (signature models of some 350 handlers, the OpenAPI document at
start-up) costs about a second of CPU, more than most API tests themselves. The app keeps no
state of a test: everything a request touches comes from `app.state.container`, read per
request (the database, data dir, blobs and settings such as DevOps or telephony). Only what
`create_app` bakes into the app itself (trusted proxies, the body size limit) cannot differ
between the tests that share one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from tickets.core.attachments import BlobStore
from tickets.core.db import Database
from tickets.core.settings import Settings

SettingsFor = Callable[[Path, Database], Settings]
Scope = Literal["session", "package", "module"]


@contextmanager
def shared_app(sqlite_template: Path, root: Path, settings_for: SettingsFor) -> Iterator[Litestar]:
    """An app over a throwaway copy of the schema template, not started; tests put their own
    container in (`serving`, or `app.state.container` under uvicorn)."""
    shutil.copyfile(sqlite_template, root / "sedno.db")  # the template itself stays untouched
    db = Database(f"sqlite:///{root / 'sedno.db'}")
    settings = settings_for(root / "data", db)
    try:
        yield create_app(settings, container=container_of(settings, db), run_workers=False)
    finally:
        db.dispose()


@contextmanager
def started_app(
    sqlite_template: Path, root: Path, settings_for: SettingsFor
) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """A started `shared_app` (its start-up hooks run)."""
    with shared_app(sqlite_template, root, settings_for) as app, TestClient(app) as client:
        yield client


def app_fixture(settings_for: SettingsFor, scope: Scope = "module") -> Any:
    """A fixture giving one started app per `scope` (see `started_app`)."""

    @pytest.fixture(scope=scope)
    def shared_app(
        sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[TestClient]:  # type: ignore[type-arg]
        with started_app(sqlite_template, tmp_path_factory.mktemp("app"), settings_for) as client:
            yield client

    return shared_app


def container_of(settings: Settings, db: Database) -> Container:
    return Container(settings=settings, db=db, blobs=BlobStore(settings.data_dir / "blobs"))


@contextmanager
def serving(client: TestClient, container: Container) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The shared app answers from `container` for one test, with an empty cookie jar. The
    container is closed at the end, while the test's database still exists: its buffered
    search log is written and its search index closed, as a replica's shutdown would."""
    client.app.state.container = container
    client.cookies.clear()
    try:
        yield client
    finally:
        client.cookies.clear()
        container.close()
