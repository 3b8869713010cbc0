"""intake a desk can trust: message marks, acknowledgement purpose, address status

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("spam_score", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("sender_flag", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("raw_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("intake_ack_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=16), nullable=False, server_default="accepted")
        )
    op.create_table(
        "intake_address_status",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("bounces", sa.Integer(), nullable=False),
        sa.Column(
            "last_bounce_at", tickets.core.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_bounce_reason", sa.Text(), nullable=False),
        sa.Column("complained_at", tickets.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_intake_address_status")),
    )


def downgrade() -> None:
    op.drop_table("intake_address_status")
    with op.batch_alter_table("intake_ack_log", schema=None) as batch_op:
        batch_op.drop_column("purpose")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_column("raw_sha256")
        batch_op.drop_column("sender_flag")
        batch_op.drop_column("automatic")
        batch_op.drop_column("spam_score")
