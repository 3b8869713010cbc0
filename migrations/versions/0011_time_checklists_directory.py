"""time and cost, task categories and checklists, deadlines, directory addresses and roles

Hourly rates; billable flags on tasks and time entries; a paid flag, a location, a deadline
(due_from … due_to) and a category on tickets; the category dictionary, checklist templates
and per-task checklists; NIP and address on partners and clients, role and preferred channel
on contacts. Existing clients' NIPs are reduced to their digits.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = tickets.core.db.UtcDateTime(timezone=True)


def _text(name: str, length: int, default: str = "") -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=False, server_default=default)


def _flag(name: str, default: bool) -> sa.Column[bool]:
    return sa.Column(
        name, sa.Boolean(), nullable=False, server_default=sa.true() if default else sa.false()
    )


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite): a copy would lose the lower(email)
    # expression indexes, which SQLite cannot reflect.
    for table in ("partners", "clients"):
        if table == "partners":
            op.add_column(table, sa.Column("tax_id", sa.String(length=32), nullable=True))
        op.add_column(table, _text("street", 300))
        op.add_column(table, _text("postal_code", 16))
        op.add_column(table, _text("city", 200))
        op.add_column(table, _text("country", 2, "PL"))
        op.create_index(f"ix_{table}_tax_id", table, ["tax_id"], unique=False)
    op.execute(
        "UPDATE clients SET tax_id = REPLACE(REPLACE(REPLACE(UPPER(tax_id), 'PL', ''), '-', ''),"
        " ' ', '') WHERE tax_id IS NOT NULL"
    )
    op.add_column("contacts", _text("role", 100))
    op.add_column("contacts", _text("preferred_channel", 16, "email"))

    op.add_column("tickets", _text("category", 100))
    op.add_column("tickets", sa.Column("due_from", UTC, nullable=True))
    op.add_column("tickets", sa.Column("due_to", UTC, nullable=True))
    op.add_column("tickets", _text("location", 300))
    op.add_column("tickets", _flag("billable", True))
    op.add_column("tickets", _flag("paid", False))
    op.create_index("ix_tickets_category", "tickets", ["category"], unique=False)
    op.create_index("ix_tickets_due_to", "tickets", ["due_to"], unique=False)
    op.add_column("time_entries", _flag("billable", True))

    op.create_table(
        "task_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_categories")),
        sa.UniqueConstraint("name", name=op.f("uq_task_categories_name")),
    )
    op.create_table(
        "checklist_template_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["task_categories.id"],
            name=op.f("fk_checklist_template_items_category_id_task_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_template_items")),
    )
    op.create_index(
        "ix_checklist_template_items_category_id",
        "checklist_template_items",
        ["category_id"],
        unique=False,
    )
    op.create_table(
        "ticket_checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["users.id"], name=op.f("fk_ticket_checklist_items_done_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_checklist_items_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_checklist_items")),
    )
    op.create_index(
        "ix_ticket_checklist_items_ticket_id", "ticket_checklist_items", ["ticket_id"], unique=False
    )
    op.create_table(
        "hourly_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("hourly_rate", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_hourly_rates_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_hourly_rates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hourly_rates")),
    )
    op.create_index(
        "uq_hourly_rates_scope",
        "hourly_rates",
        [sa.text("coalesce(user_id, 0)"), sa.text("coalesce(partner_id, 0)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("hourly_rates")
    op.drop_table("ticket_checklist_items")
    op.drop_table("checklist_template_items")
    op.drop_table("task_categories")
    with op.batch_alter_table("time_entries") as batch:
        batch.drop_column("billable")
    op.drop_index("ix_tickets_due_to", "tickets")
    op.drop_index("ix_tickets_category", "tickets")
    for column in ("paid", "billable", "location", "due_to", "due_from", "category"):
        op.drop_column("tickets", column)
    for column in ("preferred_channel", "role"):
        op.drop_column("contacts", column)
    for table in ("clients", "partners"):
        op.drop_index(f"ix_{table}_tax_id", table)
        for column in ("country", "city", "postal_code", "street"):
            op.drop_column(table, column)
    op.drop_column("partners", "tax_id")
