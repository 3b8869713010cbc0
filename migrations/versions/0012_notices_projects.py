"""notices and projects: the notification matrix, in-app notices, mail opt-outs; campaigns,
projects and tickets.project_id; an index on tickets.second_line_id

The matrix itself is written at start (`tickets.notices.rules.seed_rules`) from the defaults
and each definition's former `notify_states`, which is how the contact's state mail is kept.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = tickets.core.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "notification_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
        sa.UniqueConstraint(
            "event", "state", "definition", "recipient", "group_name", "channel",
            name=op.f("uq_notification_rules_event"),
        ),
    )
    op.create_table(
        "notification_matrix",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_notification_matrix_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_matrix")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_notices_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_user_read", "notices", ["user_id", "read_at"])
    op.create_index("ix_notices_ticket_id", "notices", ["ticket_id"])
    op.create_table(
        "mail_opt_outs",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_mail_opt_outs")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("module", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_projects_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_projects_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("campaign_id", "name", name=op.f("uq_projects_campaign_id")),
    )
    op.create_index("ix_projects_campaign_id", "projects", ["campaign_id"])
    op.create_index("ix_projects_client_id", "projects", ["client_id"])
    if bind.dialect.name == "sqlite":
        # In place, as 0010 does: a batch copy of `tickets` would be slow and lose nothing
        # but time, and SQLite adds a column with a named foreign key directly.
        op.execute(
            "ALTER TABLE tickets ADD COLUMN project_id INTEGER "
            "CONSTRAINT fk_tickets_project_id_projects REFERENCES projects (id)"
        )
    else:
        op.add_column("tickets", sa.Column("project_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_tickets_project_id_projects"), "tickets", "projects", ["project_id"], ["id"]
        )
    op.create_index("ix_tickets_project_id", "tickets", ["project_id"])
    op.create_index("ix_tickets_second_line_id", "tickets", ["second_line_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_second_line_id", table_name="tickets")
    op.drop_index("ix_tickets_project_id", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("project_id")
    op.drop_table("projects")
    op.drop_table("campaigns")
    op.drop_table("mail_opt_outs")
    op.drop_table("notices")
    op.drop_table("notification_matrix")
    op.drop_table("notification_rules")
