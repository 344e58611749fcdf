"""shopify sync: shop credentials, backfill runs and checkpoints, reconcile runs, watermarks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import disable_tenant_rls, enable_tenant_rls, ensure_api_role

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")
# The dashboard API may store a token and read the credential's metadata, never the token.
_GRANTS = {
    "shop_credentials": "SELECT (tenant_id, api_version, admin_url, created_at, updated_at), "
    "INSERT, UPDATE",
    "backfill_runs": "SELECT, INSERT, UPDATE",
    "backfill_checkpoints": "SELECT, INSERT",
    "reconcile_runs": "SELECT",
    "sync_watermarks": "SELECT",
}


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _ts(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=_NOW if now else None, nullable=nullable
    )


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), server_default="0", nullable=False)


def upgrade() -> None:
    op.create_table(
        "shop_credentials",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("access_token", sa.LargeBinary(), nullable=False),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("admin_url", sa.String(length=255), nullable=True),
        _ts("created_at", nullable=False, now=True),
        _ts("updated_at", nullable=False, now=True),
        _tenant_fk("shop_credentials"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_shop_credentials")),
    )
    op.create_table(
        "backfill_runs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("resources", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        _ts("since"),
        sa.Column("status", sa.String(length=16), server_default="queued", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        _ts("created_at", nullable=False, now=True),
        _ts("started_at"),
        _ts("finished_at"),
        _tenant_fk("backfill_runs"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_backfill_runs")),
    )
    op.create_index(
        op.f("ix_backfill_runs_tenant_id_created_at"), "backfill_runs", ["tenant_id", "created_at"]
    )
    op.create_table(
        "backfill_checkpoints",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("bulk_operation_id", sa.String(length=128), nullable=True),
        _ts("bulk_created_at"),
        _count("object_count"),
        _count("root_object_count"),
        sa.Column("bucket_count", sa.Integer(), nullable=True),
        sa.Column("buckets_done", sa.Integer(), server_default="0", nullable=False),
        _count("lines_done"),
        _count("rows_seen"),
        _count("rows_written"),
        _ts("updated_at", nullable=False, now=True),
        _tenant_fk("backfill_checkpoints"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["backfill_runs.tenant_id", "backfill_runs.id"],
            name=op.f("fk_backfill_checkpoints_tenant_id_backfill_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "run_id", "resource", name=op.f("pk_backfill_checkpoints")
        ),
    )
    op.create_table(
        "reconcile_runs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="running", nullable=False),
        _ts("started_at", nullable=False, now=True),
        _ts("finished_at"),
        sa.Column(
            "progress",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        _count("seen"),
        _count("missing"),
        _count("stale"),
        _count("written"),
        sa.Column("requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("throttled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("waited_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        _tenant_fk("reconcile_runs"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_reconcile_runs")),
    )
    op.create_index(
        op.f("ix_reconcile_runs_tenant_id_started_at"),
        "reconcile_runs",
        ["tenant_id", "started_at"],
    )
    op.create_table(
        "sync_watermarks",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("resource", sa.String(length=32), nullable=False),
        _ts("updated_since", nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _ts("updated_at", nullable=False, now=True),
        _tenant_fk("sync_watermarks"),
        sa.PrimaryKeyConstraint("tenant_id", "resource", name=op.f("pk_sync_watermarks")),
    )
    ensure_api_role(op)
    for table, grants in _GRANTS.items():
        enable_tenant_rls(op, table, grants=grants)


def downgrade() -> None:
    for table in reversed(list(_GRANTS)):
        disable_tenant_rls(op, table)
    op.drop_table("sync_watermarks")
    op.drop_index(op.f("ix_reconcile_runs_tenant_id_started_at"), table_name="reconcile_runs")
    op.drop_table("reconcile_runs")
    op.drop_table("backfill_checkpoints")
    op.drop_index(op.f("ix_backfill_runs_tenant_id_created_at"), table_name="backfill_runs")
    op.drop_table("backfill_runs")
    op.drop_table("shop_credentials")
