"""Shared fixtures: real SQLite and PostgreSQL databases, a data dir, settings.

The schema is built once per test session on each database kind (a template SQLite file, a
PostgreSQL template database); every test then gets its own copy, so a test still starts
from an empty, seeded database of its own without paying for `create_all` each time. The
PostgreSQL copies are made ahead and dropped afterwards in the background (`DatabasePool`).
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.services.postgres import (
    DatabasePool,
    create_database,
    drop_database,
    postgres_server,
)

if TYPE_CHECKING:
    from tickets.core.db import Database

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _open(url: str) -> Database:
    # The app is imported when a test first needs a database, not when this file loads: the
    # xdist controller loads it too and runs no test (2.5 s of imports saved before the
    # workers start).
    from tickets.core.db import Database

    return Database(url)


def _build_schema(db: Database) -> None:
    from api.bootstrap import TABLE_MODULES
    from tickets.core.definitions import seed_defaults
    from tickets.notices.rules import seed_rules

    assert TABLE_MODULES  # the composition root has imported every table
    db.create_all()
    with db.transaction() as session:
        seed_defaults(session)
        seed_rules(session)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file with the whole schema, checkpointed so one file holds it all."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    db = _open(f"sqlite:///{path}")
    _build_schema(db)
    db.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """The name of a seeded PostgreSQL database with the whole schema, copied per test."""
    url = create_database(pg_admin_url)
    db = _open(url)
    _build_schema(db)
    db.dispose()
    name = url.rsplit("/", 1)[1]
    try:
        yield name
    finally:
        drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def pg_pool(pg_admin_url: str, pg_template: str) -> Iterator[DatabasePool]:
    """Fresh copies of `pg_template`, made and dropped in the background."""
    pool = DatabasePool(pg_admin_url, pg_template)
    try:
        yield pool
    finally:
        pool.close()


def _make_db(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Database]:
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "sedno.db"
        shutil.copyfile(template, path)
        db = _open(f"sqlite:///{path}")
        yield db
        db.dispose()
        return
    pool: DatabasePool = request.getfixturevalue("pg_pool")
    url = pool.take()
    db = _open(url)
    try:
        yield db
    finally:
        db.dispose()
        pool.give_back(url)


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


UI_TESTS = REPO_ROOT / "tests" / "e2e" / "ui"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a slow test first, then the Chromium files together, then the rest.

    `--dist loadfile --no-loadscope-reorder` hands files out in this order (xdist's default
    reorders them by their number of tests, which put the slow files, with few tests each,
    last). The long files start early and the short ones fill in, instead of one long file
    at the end running alone while the other worker idles. The Chromium files share a
    server and a browser per package, torn down whenever a worker runs a file from
    elsewhere: handed out one after another, each worker starts them once instead of once
    per stretch of UI files. Within a file the order stays as written."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        if item.path in slow_files and UI_TESTS not in item.path.parents:
            return 0
        return 1 if UI_TESTS in item.path.parents else 2

    items.sort(key=rank)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave the session's heap out of pytest's last garbage collection.

    At the end of a session pytest collects garbage once more to report the unraisable
    exceptions of objects freed late. A test process's heap after some 600 tests (apps,
    indexes, browsers, caches) made that collection and the interpreter's exit last about 10 s
    in each xdist worker, with both cores idle, before the run could end (seen with py-spy).
    Frozen objects are never collected again: the process exits without that pass. Unraisable
    exceptions during the tests are still reported, test by test."""
    gc.freeze()
