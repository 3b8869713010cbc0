"""Shared fixtures: real SQLite and PostgreSQL databases, a data dir, settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.postgres import create_database, drop_database, postgres_server
from tickets.adapters.db import Database
from tickets.definitions import seed_defaults

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _make_db(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'sedno.db'}")
        db.create_all()
        with db.transaction() as session:
            seed_defaults(session)
        yield db
        db.dispose()
        return
    admin = request.getfixturevalue("pg_admin_url")
    url = create_database(admin)
    db = Database(url)
    db.create_all()
    with db.transaction() as session:
        seed_defaults(session)
    try:
        yield db
    finally:
        db.dispose()
        drop_database(admin, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    yield from _make_db(request.param, tmp_path, request)


@pytest.fixture
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from _make_db("sqlite", tmp_path, request)


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from _make_db("postgres", tmp_path, request)
