"""console: the caller's name and phone on a ticket, clients' notes (contacts' role came with 0011)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both engines: a batch copy on SQLite would lose the lower(email)
    # expression indexes, which SQLite cannot reflect.
    op.add_column("tickets", sa.Column("contact_name", sa.String(length=300), nullable=True))
    op.add_column("tickets", sa.Column("contact_phone", sa.String(length=64), nullable=True))
    op.add_column("clients", sa.Column("notes", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("clients", "notes")
    op.drop_column("tickets", "contact_phone")
    op.drop_column("tickets", "contact_name")
