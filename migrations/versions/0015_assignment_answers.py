"""assignment_answers: assignments the assignee confirms or rejects, and the matrix cells
that tell the assigner of a rejection

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_CELLS = ("email", "notice")


def upgrade() -> None:
    op.create_table(
        "ticket_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tickets.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"],
            name=op.f("fk_ticket_assignments_ticket_id_tickets"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_ticket_assignments_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"],
            name=op.f("fk_ticket_assignments_assigned_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_assignments")),
    )  # fmt: skip
    op.create_index("ix_ticket_assignments_ticket", "ticket_assignments", ["ticket_id", "id"])
    op.create_index(op.f("ix_ticket_assignments_message_id"), "ticket_assignments", ["message_id"])
    # A desk that already has its matrix gets the new default cells (a new one is seeded).
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT count(*) FROM notification_matrix")).scalar():
        for channel in NEW_CELLS:
            bind.execute(
                sa.text(
                    "INSERT INTO notification_rules "
                    "(event, state, definition, recipient, group_name, channel) "
                    "VALUES ('assignment_rejected', '', '', 'assigner', '', :channel)"
                ),
                {"channel": channel},
            )


def downgrade() -> None:
    op.execute("DELETE FROM notification_rules WHERE event = 'assignment_rejected'")
    op.drop_index(op.f("ix_ticket_assignments_message_id"), table_name="ticket_assignments")
    op.drop_index("ix_ticket_assignments_ticket", table_name="ticket_assignments")
    op.drop_table("ticket_assignments")
