"""telephony: statuses, extensions, calls and their events; clients' consultant; E.164 phones

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tickets.core.db
from tickets.core.phone_numbers import to_e164

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHONE_TABLES = ("partners", "clients", "contacts")
UTC = tickets.core.db.UtcDateTime(timezone=True)


def upgrade() -> None:
    bind = op.get_bind()
    for table in PHONE_TABLES:
        op.add_column(table, sa.Column("phone_e164", sa.String(length=32), nullable=True))
        op.create_index(f"ix_{table}_phone_e164", table, ["phone_e164"], unique=False)
    if bind.dialect.name == "sqlite":
        # SQLite adds a column with a named foreign key in place; a batch copy of the table
        # would lose the lower(email) expression index, which SQLite cannot reflect.
        op.execute(
            "ALTER TABLE clients ADD COLUMN consultant_id INTEGER "
            "CONSTRAINT fk_clients_consultant_id_users REFERENCES users (id)"
        )
    else:
        op.add_column("clients", sa.Column("consultant_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_clients_consultant_id_users", "clients", "users", ["consultant_id"], ["id"]
        )
    op.create_index("ix_clients_consultant_id", "clients", ["consultant_id"], unique=False)

    op.create_table(
        "telephony_statuses",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label_pl", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("routable", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_telephony_statuses")),
    )
    op.create_table(
        "telephony_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_since", UTC, nullable=False),
        sa.Column("on_call_id", sa.Integer(), nullable=True),
        sa.Column("free_at", UTC, nullable=True),
        sa.Column("competences", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["status"],
            ["telephony_statuses.code"],
            name=op.f("fk_telephony_users_status_telephony_statuses"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_telephony_users_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_telephony_users")),
        sa.UniqueConstraint("extension", name=op.f("uq_telephony_users_extension")),
    )
    op.create_table(
        "telephony_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("number_e164", sa.String(length=32), nullable=True),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("answered_at", UTC, nullable=True),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("talk_s", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("callback_done_at", UTC, nullable=True),
        sa.Column("callback_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["callback_by_id"], ["users.id"], name=op.f("fk_telephony_calls_callback_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_telephony_calls_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_telephony_calls_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_telephony_calls_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_telephony_calls_ticket_id_tickets")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_telephony_calls_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_telephony_calls_call_id")),
    )
    op.create_index(
        "ix_telephony_calls_state_started", "telephony_calls", ["state", "started_at"]
    )
    for column in ("number_e164", "user_id", "client_id", "ticket_id"):
        op.create_index(f"ix_telephony_calls_{column}", "telephony_calls", [column])
    op.create_table(
        "telephony_call_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_telephony_call_events_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telephony_call_events")),
        sa.UniqueConstraint("call_id", "event", name=op.f("uq_telephony_call_events_call_id")),
    )
    op.create_index(
        "ix_telephony_call_events_user_received",
        "telephony_call_events",
        ["user_id", "received_at"],
    )

    # Phones already in the directory become findable by number.
    for table in PHONE_TABLES:
        rows = bind.execute(sa.text(f"SELECT id, phone FROM {table} WHERE phone IS NOT NULL"))
        for row_id, phone in list(rows):
            e164 = to_e164(phone)
            if e164 is not None:
                bind.execute(
                    sa.text(f"UPDATE {table} SET phone_e164 = :e164 WHERE id = :id"),
                    {"e164": e164, "id": row_id},
                )


def downgrade() -> None:
    op.drop_table("telephony_call_events")
    op.drop_table("telephony_calls")
    op.drop_table("telephony_users")
    op.drop_table("telephony_statuses")
    op.drop_index("ix_clients_consultant_id", table_name="clients")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("consultant_id")
    for table in PHONE_TABLES:
        op.drop_index(f"ix_{table}_phone_e164", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("phone_e164")
