"""predictive customer lifetime value: model fits and predictions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = postgresql.UUID(as_uuid=True)
MONEY = sa.Numeric(20, 2)
TABLES = ("clv_fits", "clv_predictions")


def upgrade() -> None:
    op.create_table(
        "clv_fits",
        sa.Column("tenant_id", UUID, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("id", UUID),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("message", sa.Text()),
        sa.Column("job_id", sa.String(64)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(8)),
        sa.Column("customers", sa.Integer()),
        sa.Column("repeat_customers", sa.Integer()),
        sa.Column("history_days", sa.Integer()),
        sa.Column("parameters", postgresql.JSONB()),
        sa.Column("quality", postgresql.JSONB()),
        sa.Column("distribution", postgresql.JSONB()),
        sa.Column("timings", postgresql.JSONB()),
        sa.Column("library", sa.String(64)),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'insufficient_history', 'abandoned')",
            name="ck_clv_fits_status",
        ),
    )
    op.create_index("ix_clv_fits_tenant_id_finished_at", "clv_fits", ["tenant_id", "finished_at"])
    op.create_table(
        "clv_predictions",
        sa.Column("tenant_id", UUID),
        sa.Column("fit_id", UUID),
        sa.Column("customer_id", sa.BigInteger()),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=False),
        sa.Column("monetary_value", MONEY),
        sa.Column("probability_alive", sa.Float(), nullable=False),
        sa.Column("purchases_3m", sa.Float(), nullable=False),
        sa.Column("purchases_6m", sa.Float(), nullable=False),
        sa.Column("purchases_12m", sa.Float(), nullable=False),
        sa.Column("expected_order_value", MONEY, nullable=False),
        sa.Column("value_3m", MONEY, nullable=False),
        sa.Column("value_6m", MONEY, nullable=False),
        sa.Column("value_12m", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "fit_id", "customer_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "fit_id"], ["clv_fits.tenant_id", "clv_fits.id"], ondelete="CASCADE"
        ),
    )
    for column in ("value_12m", "probability_alive", "purchases_12m"):
        op.create_index(
            f"ix_clv_predictions_{column}",
            "clv_predictions",
            ["tenant_id", "fit_id", column, "customer_id"],
        )
    for table in TABLES:
        enable_tenant_rls(op, table, grants="SELECT")


def downgrade() -> None:
    for table in reversed(TABLES):
        disable_tenant_rls(op, table)
    op.drop_table("clv_predictions")
    op.drop_table("clv_fits")
