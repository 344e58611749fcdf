"""daily rollups of sales and product sales per tenant

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from migrations.rls import disable_tenant_rls, enable_tenant_rls
from writes.rollup_days import rebuild

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUM = sa.Numeric()


def _key() -> list[sa.Column]:
    return [
        sa.Column(
            "tenant_id",
            sa.dialects.postgresql.UUID(as_uuid=True),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("customer_type", sa.String(16), nullable=False),
    ]


def _sums(*names: str, counts: tuple[str, ...] = ()) -> list[sa.Column]:
    return [sa.Column(n, sa.BigInteger(), nullable=False) for n in counts] + [
        sa.Column(n, SUM, nullable=False) for n in names
    ]


def upgrade() -> None:
    op.create_table(
        "rollup_zones",
        sa.Column(
            "tenant_id",
            sa.dialects.postgresql.UUID(as_uuid=True),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_rollup_zones"),
    )
    op.create_table(
        "sales_daily",
        *_key(),
        *_sums(
            "gross_sales",
            "discounts",
            "returns",
            "shipping",
            "taxes",
            "duties",
            "cost",
            "net_with_cost",
            "order_value",
            "total_price",
            "cancelled_price",
            "refunded_price",
            "net_price",
            counts=("orders", "kept_orders"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "channel", "customer_type", name="pk_sales_daily"
        ),
    )
    op.create_table(
        "product_sales_daily",
        *_key(),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        *_sums(
            "gross_sales",
            "discounts",
            "returns",
            "net_sales",
            "cost_of_goods_sold",
            "net_sales_with_cost_recorded",
            counts=("units_sold", "units_returned", "units_with_cost"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "day",
            "channel",
            "customer_type",
            "product_id",
            "variant_id",
            name="pk_product_sales_daily",
        ),
    )
    for table in ("rollup_zones", "sales_daily", "product_sales_daily"):
        enable_tenant_rls(op, table, grants="SELECT")
    # A unit cost recorded or a variant's item changed: the orders that sold the variant.
    op.create_index(
        "ix_order_line_items_tenant_id_variant_id", "order_line_items", ["tenant_id", "variant_id"]
    )
    # Fill the rollups of the data already there.
    rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_index("ix_order_line_items_tenant_id_variant_id", table_name="order_line_items")
    for table in ("product_sales_daily", "sales_daily", "rollup_zones"):
        disable_tenant_rls(op, table)
        op.drop_table(table)
