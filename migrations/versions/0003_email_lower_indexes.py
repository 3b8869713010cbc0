"""lower(email) indexes for intake's known-sender look-up

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contacts", "clients", "partners")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_email_lower", table, [sa.text("lower(email)")], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_email_lower", table_name=table)
