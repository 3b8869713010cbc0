"""planner: service schedules and their occurrences, operator calendars, holiday edits,
appointments

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 09:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_holiday_overrides")),
    )
    op.create_table(
        "operator_calendars",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weekly_hours", sa.JSON(), nullable=False),
        sa.Column("absences", sa.JSON(), nullable=False),
        sa.Column("competences", sa.JSON(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("group", sa.String(length=100), nullable=False),
        sa.Column("updated_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_operator_calendars_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_operator_calendars")),
    )
    with op.batch_alter_table("operator_calendars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_calendars_group"), ["group"], unique=False)

    op.create_table(
        "service_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition_code", sa.String(length=16), nullable=False),
        sa.Column("every", sa.String(length=16), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("ticket_fields", sa.JSON(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_service_schedules_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_service_schedules_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["definition_code"],
            ["definitions.code"],
            name=op.f("fk_service_schedules_definition_code_definitions"),
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_service_schedules_operator_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_schedules")),
    )
    with op.batch_alter_table("service_schedules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_schedules_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_schedules_next_due"), ["next_due"], unique=False
        )

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("notify_emails", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", tickets.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_appointments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["users.id"], name=op.f("fk_appointments_operator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_appointments_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_operator_start", ["operator_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "schedule_occurrences",
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", tickets.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["service_schedules.id"],
            name=op.f("fk_schedule_occurrences_schedule_id_service_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_schedule_occurrences_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("schedule_id", "due_date", name=op.f("pk_schedule_occurrences")),
    )
    with op.batch_alter_table("schedule_occurrences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_schedule_occurrences_ticket_id"), ["ticket_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("schedule_occurrences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedule_occurrences_ticket_id"))

    op.drop_table("schedule_occurrences")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_appointments_status"))
        batch_op.drop_index("ix_appointments_operator_start")

    op.drop_table("appointments")
    with op.batch_alter_table("service_schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_schedules_next_due"))
        batch_op.drop_index(batch_op.f("ix_service_schedules_client_id"))

    op.drop_table("service_schedules")
    with op.batch_alter_table("operator_calendars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_calendars_group"))

    op.drop_table("operator_calendars")
    op.drop_table("holiday_overrides")
