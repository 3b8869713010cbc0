"""devops_retry_after: Azure DevOps's Retry-After, honoured by every process

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devops_retry_after",
        sa.Column("organisation", sa.String(length=400), nullable=False),
        sa.Column("until", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("organisation", name=op.f("pk_devops_retry_after")),
    )


def downgrade() -> None:
    op.drop_table("devops_retry_after")
