"""the money resources: refunds, transactions, fulfillments, inventory, order money parts

Orders keep their money parts (line discounts and taxes, shipping lines, discount applications,
allocations and codes, tax lines, duties, presentment amounts) as columns and child rows, for
sales figures defined as Shopify defines them (docs/metrics.md). Refunds, order transactions,
fulfillments, inventory items with their cost history, inventory levels and order edits get
tables of their own, under the same row-level security as every tenant table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:33:29.028993
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from migrations.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = (
    "fulfillments", "inventory_item_costs", "inventory_items", "inventory_levels",
    "order_edits", "order_transactions", "refunds", "fulfillment_line_items",
    "order_adjustments", "order_discount_allocations", "order_discount_applications",
    "order_discount_codes", "order_duties", "order_shipping_lines", "order_tax_lines",
    "refund_duties", "refund_line_items", "refund_shipping_lines",
)  # fmt: skip
PAYLOAD_TABLES = (
    "fulfillments", "inventory_items", "inventory_levels", "order_edits",
    "order_transactions", "refunds",
)  # fmt: skip
# As in 0006: lz4 where the server has it.
_SET_COMPRESSION = """
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)
    ) THEN
        {statements}
    END IF;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "fulfillments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("shipment_status", sa.String(length=32), nullable=True),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("tracking_company", sa.Text(), nullable=True),
        sa.Column("tracking_numbers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tracking_urls", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_fulfillments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_fulfillments")),
    )
    op.create_index(
        op.f("ix_fulfillments_tenant_id_order_id"),
        "fulfillments",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "inventory_item_costs",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("inventory_item_id", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cost", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inventory_item_costs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "inventory_item_id", "recorded_at", name=op.f("pk_inventory_item_costs")
        ),
    )
    op.create_table(
        "inventory_items",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("cost", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tracked", sa.Boolean(), nullable=True),
        sa.Column("requires_shipping", sa.Boolean(), nullable=True),
        sa.Column("country_code_of_origin", sa.String(length=8), nullable=True),
        sa.Column("harmonized_system_code", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inventory_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_inventory_items")),
    )
    op.create_table(
        "inventory_levels",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("inventory_item_id", sa.BigInteger(), nullable=False),
        sa.Column("location_id", sa.BigInteger(), nullable=False),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_inventory_levels_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "inventory_item_id", "location_id", name=op.f("pk_inventory_levels")
        ),
    )
    op.create_table(
        "order_edits",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("staff_note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_order_edits_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_edits")),
    )
    op.create_index(
        op.f("ix_order_edits_tenant_id_order_id"),
        "order_edits",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "order_transactions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("refund_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("gateway", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("amount_shop", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("source_name", sa.String(length=64), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_order_transactions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_transactions")),
    )
    op.create_index(
        op.f("ix_order_transactions_tenant_id_order_id"),
        "order_transactions",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "refunds",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("restock", sa.Boolean(), nullable=True),
        sa.Column("total_refunded", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_refunded_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_id", sa.String(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "ingested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_refunds_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_refunds")),
    )
    op.create_index(
        op.f("ix_refunds_tenant_id_order_id"), "refunds", ["tenant_id", "order_id"], unique=False
    )
    op.create_table(
        "fulfillment_line_items",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("fulfillment_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("line_item_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "fulfillment_id"],
            ["fulfillments.tenant_id", "fulfillments.shopify_id"],
            name=op.f("fk_fulfillment_line_items_tenant_id_fulfillment_id_fulfillments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "fulfillment_id", "position", name=op.f("pk_fulfillment_line_items")
        ),
    )
    op.create_table(
        "order_adjustments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("amount_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tax_amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tax_amount_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.shopify_id"],
            name=op.f("fk_order_adjustments_tenant_id_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_adjustments")),
    )
    op.create_index(
        op.f("ix_order_adjustments_tenant_id_refund_id"),
        "order_adjustments",
        ["tenant_id", "refund_id"],
        unique=False,
    )
    op.create_table(
        "order_discount_allocations",
        sa.Column("line_item_id", sa.BigInteger(), nullable=True),
        sa.Column("shipping_line_id", sa.BigInteger(), nullable=True),
        sa.Column("application_index", sa.Integer(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("amount_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_discount_allocations_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "order_id", "position", name=op.f("pk_order_discount_allocations")
        ),
    )
    op.create_table(
        "order_discount_applications",
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("value", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("value_type", sa.String(length=32), nullable=True),
        sa.Column("allocation_method", sa.String(length=32), nullable=True),
        sa.Column("target_selection", sa.String(length=32), nullable=True),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_discount_applications_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "order_id", "position", name=op.f("pk_order_discount_applications")
        ),
    )
    op.create_table(
        "order_discount_codes",
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_discount_codes_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "order_id", "position", name=op.f("pk_order_discount_codes")
        ),
    )
    op.create_table(
        "order_duties",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("line_item_id", sa.BigInteger(), nullable=True),
        sa.Column("harmonized_system_code", sa.String(length=32), nullable=True),
        sa.Column("country_code_of_origin", sa.String(length=8), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_duties_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_duties")),
    )
    op.create_index(
        op.f("ix_order_duties_tenant_id_order_id"),
        "order_duties",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "order_shipping_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("discounted_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("discount_allocated", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column(
            "discount_allocated_presentment", sa.Numeric(precision=20, scale=4), nullable=True
        ),
        sa.Column("tax", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tax_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("is_removed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_shipping_lines_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_shipping_lines")),
    )
    op.create_index(
        op.f("ix_order_shipping_lines_tenant_id_order_id"),
        "order_shipping_lines",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "order_tax_lines",
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=10, scale=6), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("channel_liable", sa.Boolean(), nullable=True),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_tax_lines_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "order_id", "position", name=op.f("pk_order_tax_lines")
        ),
    )
    op.create_table(
        "refund_duties",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("duty_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("amount_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.shopify_id"],
            name=op.f("fk_refund_duties_tenant_id_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "refund_id", "position", name=op.f("pk_refund_duties")
        ),
    )
    op.create_table(
        "refund_line_items",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("line_item_id", sa.BigInteger(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("restock_type", sa.String(length=32), nullable=True),
        sa.Column("location_id", sa.BigInteger(), nullable=True),
        sa.Column("gift_card", sa.Boolean(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("subtotal_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_tax", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_tax_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.shopify_id"],
            name=op.f("fk_refund_line_items_tenant_id_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_refund_line_items")),
    )
    op.create_index(
        op.f("ix_refund_line_items_tenant_id_refund_id"),
        "refund_line_items",
        ["tenant_id", "refund_id"],
        unique=False,
    )
    op.create_table(
        "refund_shipping_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("refund_id", sa.BigInteger(), nullable=False),
        sa.Column("shipping_line_id", sa.BigInteger(), nullable=True),
        sa.Column("subtotal", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("subtotal_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tax", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("tax_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "refund_id"],
            ["refunds.tenant_id", "refunds.shopify_id"],
            name=op.f("fk_refund_shipping_lines_tenant_id_refund_id_refunds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_refund_shipping_lines")),
    )
    op.create_index(
        op.f("ix_refund_shipping_lines_tenant_id_refund_id"),
        "refund_shipping_lines",
        ["tenant_id", "refund_id"],
        unique=False,
    )
    op.add_column("order_line_items", sa.Column("vendor", sa.Text(), nullable=True))
    op.add_column("order_line_items", sa.Column("gift_card", sa.Boolean(), nullable=True))
    op.add_column(
        "order_line_items",
        sa.Column("price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "order_line_items",
        sa.Column("total_discount", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "order_line_items",
        sa.Column("discount_allocated", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "order_line_items",
        sa.Column(
            "discount_allocated_presentment", sa.Numeric(precision=20, scale=4), nullable=True
        ),
    )
    op.add_column(
        "order_line_items", sa.Column("tax", sa.Numeric(precision=20, scale=4), nullable=True)
    )
    op.add_column(
        "order_line_items",
        sa.Column("tax_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "order_line_items", sa.Column("duties", sa.Numeric(precision=20, scale=4), nullable=True)
    )
    op.add_column(
        "order_line_items",
        sa.Column("duties_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    for column in ("presentment_currency",):
        op.add_column("checkouts", sa.Column(column, sa.String(length=8), nullable=True))
    for column in ("total_price_presentment", "subtotal_price_presentment"):
        op.add_column(
            "checkouts", sa.Column(column, sa.Numeric(precision=20, scale=4), nullable=True)
        )
    # The sales report reads refunds by when they were processed and orders by cancellation.
    op.create_index(
        "ix_refunds_tenant_id_refunded_at",
        "refunds",
        [
            "tenant_id",
            sa.text("(CASE WHEN processed_at IS NOT NULL THEN processed_at ELSE created_at END)"),
        ],
    )
    op.create_index(
        "ix_orders_tenant_id_cancelled_at",
        "orders",
        ["tenant_id", "cancelled_at"],
        postgresql_where=sa.text("cancelled_at IS NOT NULL"),
    )
    op.add_column("orders", sa.Column("presentment_currency", sa.String(length=8), nullable=True))
    op.add_column("orders", sa.Column("taxes_included", sa.Boolean(), nullable=True))
    op.add_column(
        "orders",
        sa.Column("total_line_items_price", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders",
        sa.Column("total_shipping_price", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders", sa.Column("total_duties", sa.Numeric(precision=20, scale=4), nullable=True)
    )
    op.add_column(
        "orders", sa.Column("total_tip_received", sa.Numeric(precision=20, scale=4), nullable=True)
    )
    op.add_column(
        "orders",
        sa.Column("total_price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders",
        sa.Column("subtotal_price_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders",
        sa.Column("total_tax_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders",
        sa.Column("total_discounts_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "orders",
        sa.Column(
            "total_shipping_price_presentment", sa.Numeric(precision=20, scale=4), nullable=True
        ),
    )
    op.add_column(
        "orders",
        sa.Column("total_refunded_presentment", sa.Numeric(precision=20, scale=4), nullable=True),
    )
    op.add_column(
        "product_variants", sa.Column("inventory_item_id", sa.BigInteger(), nullable=True)
    )
    op.create_index(
        op.f("ix_product_variants_tenant_id_inventory_item_id"),
        "product_variants",
        ["tenant_id", "inventory_item_id"],
        unique=False,
    )
    op.add_column(
        "products",
        sa.Column("variants_partial", sa.Boolean(), server_default="false", nullable=False),
    )
    statements = "\n        ".join(
        f"ALTER TABLE {t} ALTER COLUMN payload SET COMPRESSION lz4;" for t in PAYLOAD_TABLES
    )
    op.execute(_SET_COMPRESSION.format(statements=statements))
    for table in NEW_TABLES:
        enable_tenant_rls(op, table, grants="SELECT")


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        disable_tenant_rls(op, table)
    op.drop_index("ix_orders_tenant_id_cancelled_at", table_name="orders")
    op.drop_index("ix_refunds_tenant_id_refunded_at", table_name="refunds")
    for column in ("subtotal_price_presentment", "total_price_presentment", "presentment_currency"):
        op.drop_column("checkouts", column)
    op.drop_column("products", "variants_partial")
    op.drop_index(
        op.f("ix_product_variants_tenant_id_inventory_item_id"), table_name="product_variants"
    )
    op.drop_column("product_variants", "inventory_item_id")
    op.drop_column("orders", "total_refunded_presentment")
    op.drop_column("orders", "total_shipping_price_presentment")
    op.drop_column("orders", "total_discounts_presentment")
    op.drop_column("orders", "total_tax_presentment")
    op.drop_column("orders", "subtotal_price_presentment")
    op.drop_column("orders", "total_price_presentment")
    op.drop_column("orders", "total_tip_received")
    op.drop_column("orders", "total_duties")
    op.drop_column("orders", "total_shipping_price")
    op.drop_column("orders", "total_line_items_price")
    op.drop_column("orders", "taxes_included")
    op.drop_column("orders", "presentment_currency")
    op.drop_column("order_line_items", "duties_presentment")
    op.drop_column("order_line_items", "duties")
    op.drop_column("order_line_items", "tax_presentment")
    op.drop_column("order_line_items", "tax")
    op.drop_column("order_line_items", "discount_allocated_presentment")
    op.drop_column("order_line_items", "discount_allocated")
    op.drop_column("order_line_items", "total_discount")
    op.drop_column("order_line_items", "price_presentment")
    op.drop_column("order_line_items", "gift_card")
    op.drop_column("order_line_items", "vendor")
    op.drop_index(
        op.f("ix_refund_shipping_lines_tenant_id_refund_id"), table_name="refund_shipping_lines"
    )
    op.drop_table("refund_shipping_lines")
    op.drop_index(op.f("ix_refund_line_items_tenant_id_refund_id"), table_name="refund_line_items")
    op.drop_table("refund_line_items")
    op.drop_table("refund_duties")
    op.drop_table("order_tax_lines")
    op.drop_index(
        op.f("ix_order_shipping_lines_tenant_id_order_id"), table_name="order_shipping_lines"
    )
    op.drop_table("order_shipping_lines")
    op.drop_index(op.f("ix_order_duties_tenant_id_order_id"), table_name="order_duties")
    op.drop_table("order_duties")
    op.drop_table("order_discount_codes")
    op.drop_table("order_discount_applications")
    op.drop_table("order_discount_allocations")
    op.drop_index(op.f("ix_order_adjustments_tenant_id_refund_id"), table_name="order_adjustments")
    op.drop_table("order_adjustments")
    op.drop_table("fulfillment_line_items")
    op.drop_index(op.f("ix_refunds_tenant_id_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_order_transactions_tenant_id_order_id"), table_name="order_transactions")
    op.drop_table("order_transactions")
    op.drop_index(op.f("ix_order_edits_tenant_id_order_id"), table_name="order_edits")
    op.drop_table("order_edits")
    op.drop_table("inventory_levels")
    op.drop_table("inventory_items")
    op.drop_table("inventory_item_costs")
    op.drop_index(op.f("ix_fulfillments_tenant_id_order_id"), table_name="fulfillments")
    op.drop_table("fulfillments")
