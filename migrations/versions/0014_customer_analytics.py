"""customer analytics: lifetime figures, RFM scores and segments, dated snapshots, cohorts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4)
TENANT = postgresql.UUID(as_uuid=True)
TABLES = (
    "customer_analytics", "rfm_snapshots", "rfm_segment_totals", "cohort_cells",
    "customer_order_days", "rfm_snapshot_packs", "customer_day_packs",
)  # fmt: skip


_PACKED = {
    ("rfm_snapshot_packs", "customer_ids"), ("rfm_snapshot_packs", "codes"),
    ("customer_day_packs", "first_days"), ("customer_day_packs", "second_days"),
}  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "customer_analytics",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("customer_id", sa.BigInteger()),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("gross_spend", MONEY, nullable=False),
        sa.Column("refunded", MONEY, nullable=False),
        sa.Column("net_spend", MONEY, nullable=False),
        sa.Column("average_order_value", MONEY),
        sa.Column("first_order_at", sa.DateTime(timezone=True)),
        sa.Column("last_order_at", sa.DateTime(timezone=True)),
        sa.Column("second_order_at", sa.DateTime(timezone=True)),
        sa.Column("first_order_month", sa.Date()),
        sa.Column("average_days_between_orders", sa.Numeric(12, 2)),
        sa.Column("recency_days", sa.Integer()),
        sa.Column("r_score", sa.SmallInteger()),
        sa.Column("f_score", sa.SmallInteger()),
        sa.Column("m_score", sa.SmallInteger()),
        sa.Column("fm_score", sa.Numeric(2, 1)),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("known", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id"),
    )
    for column in ("net_spend", "gross_spend", "orders", "last_order_at", "first_order_at"):
        op.create_index(
            f"ix_customer_analytics_{column}",
            "customer_analytics",
            ["tenant_id", column, "customer_id"],
        )
    op.create_index(
        "ix_customer_analytics_segment",
        "customer_analytics",
        ["tenant_id", "segment", "net_spend", "customer_id"],
    )
    op.create_table(
        "rfm_snapshots",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("as_of", sa.Date()),
        sa.Column("customer_id", sa.BigInteger()),
        sa.Column("segment", sa.String(32), nullable=False),
        sa.Column("net_spend", MONEY, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "as_of", "customer_id"),
    )
    op.create_table(
        "rfm_segment_totals",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("segment", sa.String(32)),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("net_spend", MONEY, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "segment"),
    )
    # Each customer's local order days with the day of their order before (-infinity: none),
    # counted: the customers of any range of days without reading the orders.
    op.create_table(
        "customer_order_days",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("day", sa.Date()),
        sa.Column("prev_day", sa.Date()),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", "prev_day"),
    )
    # A range's customers are read by whichever is shorter: its days, or the days before it.
    op.create_index(
        "ix_customer_order_days_prev_day",
        "customer_order_days",
        ["tenant_id", "prev_day", "day"],
        postgresql_include=["customers"],
    )
    op.create_table(
        "cohort_cells",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("cohort_month", sa.Date()),
        sa.Column("months_since", sa.Integer()),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("net_revenue", MONEY, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "cohort_month", "months_since"),
    )
    # Each snapshot packed in one row, customers ascending: segment movement reads two rows
    # and compares them in memory instead of joining two snapshots of every customer.
    op.create_table(
        "rfm_snapshot_packs",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("as_of", sa.Date()),
        sa.Column("segments", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("customer_ids", sa.LargeBinary(), nullable=False),
        sa.Column("codes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "as_of"),
    )
    # Every buyer's local days of first and second order, packed: the returning customer rate
    # of any range counts them in memory instead of reading every customer's row.
    op.create_table(
        "customer_day_packs",
        sa.Column("tenant_id", TENANT, sa.ForeignKey("tenants.id", ondelete="CASCADE")),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("first_days", sa.LargeBinary(), nullable=False),
        sa.Column("second_days", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    for table, column in sorted(_PACKED):
        # Stored uncompressed: reading them back is then a plain copy.
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")
    for table in TABLES:
        enable_tenant_rls(op, table, grants="SELECT")


def downgrade() -> None:
    for table in reversed(TABLES):
        disable_tenant_rls(op, table)
        op.drop_table(table)
