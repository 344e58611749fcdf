"""data lifecycle: compliance actions, customer exports, indexes for sweeps and retention

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import API_ROLE, disable_tenant_rls, enable_tenant_rls, ensure_api_role

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _create_tables() -> None:
    op.create_table(
        "lifecycle_actions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "performed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "webhook_id", name=op.f("pk_lifecycle_actions")),
    )
    op.create_index(
        op.f("ix_lifecycle_actions_tenant_id_performed_at"),
        "lifecycle_actions",
        ["tenant_id", "performed_at"],
    )
    op.create_table(
        "customer_exports",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_exports_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customer_exports")),
    )
    for columns, unique in (
        (["tenant_id", "webhook_id"], True),
        (["tenant_id", "customer_id"], False),
        (["tenant_id", "created_at"], False),
    ):
        op.create_index(
            op.f(f"ix_customer_exports_{'_'.join(columns)}"),
            "customer_exports",
            columns,
            unique=unique,
        )


def _create_job_indexes() -> None:
    for table in ("checkouts", "carts"):
        op.execute(
            f"CREATE INDEX ix_{table}_open_activity ON {table} "
            "(tenant_id, coalesce(updated_at, created_at, ingested_at)) WHERE status = 'open'"
        )
    op.create_index(
        "ix_webhook_events_payload_kept",
        "webhook_events",
        ["tenant_id", "received_at"],
        postgresql_where=sa.text("payload IS NOT NULL"),
    )
    op.create_index(
        "ix_webhook_events_recorded",
        "webhook_events",
        ["received_at"],
        postgresql_where=sa.text("status = 'recorded'"),
    )


def upgrade() -> None:
    _create_tables()
    _create_job_indexes()
    ensure_api_role(op)
    enable_tenant_rls(op, "lifecycle_actions", grants="SELECT")
    enable_tenant_rls(op, "customer_exports", grants="SELECT")
    # Owners and admins replay dead letters through the dashboard API, which marks them.
    op.execute(f"GRANT UPDATE (replayed_at) ON dead_letters TO {API_ROLE}")


def downgrade() -> None:
    op.execute(f"REVOKE UPDATE (replayed_at) ON dead_letters FROM {API_ROLE}")
    disable_tenant_rls(op, "customer_exports")
    disable_tenant_rls(op, "lifecycle_actions")
    op.drop_index("ix_webhook_events_recorded", table_name="webhook_events")
    op.drop_index("ix_webhook_events_payload_kept", table_name="webhook_events")
    op.execute("DROP INDEX ix_carts_open_activity")
    op.execute("DROP INDEX ix_checkouts_open_activity")
    op.drop_table("customer_exports")
    op.drop_table("lifecycle_actions")
