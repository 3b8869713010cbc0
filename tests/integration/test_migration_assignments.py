"""Migration 0015 on a desk that already has its notification matrix: the assigner is told of a
rejection from the upgrade on; a new desk gets the same cells from the seeded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from api.migrate import upgrade
from tests.services.postgres import create_database, drop_database


def _upgrade_a_desk_with_a_matrix(url: str) -> list[tuple[str, str, str]]:
    upgrade(url, "0014")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO notification_matrix (id, updated_at) "
                              "VALUES (1, CURRENT_TIMESTAMP)"))  # fmt: skip
            c.execute(sa.text(
                "INSERT INTO notification_rules (event, state, definition, recipient, "
                "group_name, channel) VALUES ('reply', '', '', 'lead', '', 'notice')"))  # fmt: skip
        upgrade(url)
        with engine.connect() as c:
            rows = c.execute(sa.text("SELECT event, recipient, channel FROM notification_rules "
                                     "ORDER BY id"))  # fmt: skip
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


EXPECTED = [
    ("reply", "lead", "notice"),
    ("assignment_rejected", "assigner", "email"),
    ("assignment_rejected", "assigner", "notice"),
]


def test_sqlite_desk_gains_the_rejection_cells(tmp_path: Path) -> None:
    assert _upgrade_a_desk_with_a_matrix(f"sqlite:///{tmp_path / 'm.db'}") == EXPECTED


@pytest.mark.postgres
def test_postgres_desk_gains_the_rejection_cells(pg_admin_url: str) -> None:
    url = create_database(pg_admin_url)
    try:
        assert _upgrade_a_desk_with_a_matrix(url) == EXPECTED
    finally:
        drop_database(pg_admin_url, url)
