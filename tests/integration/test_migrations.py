"""The Alembic migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.migrate import check, upgrade
from tests.services.postgres import create_database, drop_database


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    check(url)


@pytest.mark.postgres
def test_postgres_migrations_match_models(pg_admin_url: str) -> None:
    url = create_database(pg_admin_url)
    try:
        upgrade(url)
        check(url)
    finally:
        drop_database(pg_admin_url, url)
