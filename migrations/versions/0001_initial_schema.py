"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 12:52:32.536615
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("shop_domain", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("webhook_secret", sa.LargeBinary(), nullable=False),
        sa.Column("previous_webhook_secret", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="active", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("checkout_abandon_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("raw_retention_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("shop_domain", name=op.f("uq_tenants_shop_domain")),
    )
    op.create_table(
        "carts",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=True),
        sa.Column("total_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_carts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "token", name=op.f("pk_carts")),
    )
    op.create_index(
        op.f("ix_carts_tenant_id_status_created_at"),
        "carts",
        ["tenant_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "checkout_tombstones",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_checkout_tombstones_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_checkout_tombstones")),
    )
    op.create_table(
        "checkouts",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("token", sa.String(length=255), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=True),
        sa.Column("cart_token", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("total_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("subtotal_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_checkouts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "token", name=op.f("pk_checkouts")),
    )
    op.create_index(
        op.f("ix_checkouts_tenant_id_cart_token"),
        "checkouts",
        ["tenant_id", "cart_token"],
        unique=False,
    )
    op.create_index(
        op.f("ix_checkouts_tenant_id_shopify_id"),
        "checkouts",
        ["tenant_id", "shopify_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_checkouts_tenant_id_status_created_at"),
        "checkouts",
        ["tenant_id", "status", "created_at"],
        unique=False,
    )
    op.create_table(
        "customers",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
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
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_customers")),
    )
    op.create_index(
        op.f("ix_customers_tenant_id_email"), "customers", ["tenant_id", "email"], unique=False
    )
    op.create_table(
        "dead_letters",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("triggered_at", sa.String(length=64), nullable=True),
        sa.Column("api_version", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.String(length=64), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("stream_entry_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_dead_letters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_dead_letters")),
    )
    op.create_index(
        op.f("ix_dead_letters_tenant_id_created_at"),
        "dead_letters",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "orders",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("order_number", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("financial_status", sa.String(length=32), nullable=True),
        sa.Column("fulfillment_status", sa.String(length=32), nullable=True),
        sa.Column("currency", sa.String(length=8), nullable=True),
        sa.Column("total_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("subtotal_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_tax", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_discounts", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("current_total_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("total_refunded", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("cart_token", sa.String(length=255), nullable=True),
        sa.Column("checkout_token", sa.String(length=255), nullable=True),
        sa.Column("checkout_id", sa.BigInteger(), nullable=True),
        sa.Column("source_name", sa.String(length=64), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_orders")),
    )
    op.create_index(
        op.f("ix_orders_tenant_id_cart_token"), "orders", ["tenant_id", "cart_token"], unique=False
    )
    op.create_index(
        op.f("ix_orders_tenant_id_checkout_token"),
        "orders",
        ["tenant_id", "checkout_token"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_tenant_id_created_at"), "orders", ["tenant_id", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_orders_tenant_id_customer_id"),
        "orders",
        ["tenant_id", "customer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orders_tenant_id_processed_at"),
        "orders",
        ["tenant_id", "processed_at"],
        unique=False,
    )
    op.create_table(
        "products",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("handle", sa.Text(), nullable=True),
        sa.Column("vendor", sa.Text(), nullable=True),
        sa.Column("product_type", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_products_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_products")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=True),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("triggered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("api_version", sa.String(length=32), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stream_entry_id", sa.String(length=64), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "webhook_id", name=op.f("pk_webhook_events")),
    )
    op.create_index(
        op.f("ix_webhook_events_tenant_id_received_at"),
        "webhook_events",
        ["tenant_id", "received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_webhook_events_tenant_id_topic_received_at"),
        "webhook_events",
        ["tenant_id", "topic", "received_at"],
        unique=False,
    )
    op.create_table(
        "order_line_items",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=True),
        sa.Column("variant_id", sa.BigInteger(), nullable=True),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("current_quantity", sa.Integer(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            name=op.f("fk_order_line_items_tenant_id_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_order_line_items")),
    )
    op.create_index(
        op.f("ix_order_line_items_tenant_id_order_id"),
        "order_line_items",
        ["tenant_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "product_variants",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shopify_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("compare_at_price", sa.Numeric(precision=20, scale=4), nullable=True),
        sa.Column("inventory_quantity", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.shopify_id"],
            name=op.f("fk_product_variants_tenant_id_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "shopify_id", name=op.f("pk_product_variants")),
    )
    op.create_index(
        op.f("ix_product_variants_tenant_id_product_id"),
        "product_variants",
        ["tenant_id", "product_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_product_variants_tenant_id_product_id"), table_name="product_variants")
    op.drop_table("product_variants")
    op.drop_index(op.f("ix_order_line_items_tenant_id_order_id"), table_name="order_line_items")
    op.drop_table("order_line_items")
    op.drop_index(
        op.f("ix_webhook_events_tenant_id_topic_received_at"), table_name="webhook_events"
    )
    op.drop_index(op.f("ix_webhook_events_tenant_id_received_at"), table_name="webhook_events")
    op.drop_table("webhook_events")
    op.drop_table("products")
    op.drop_index(op.f("ix_orders_tenant_id_processed_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_customer_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_created_at"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_checkout_token"), table_name="orders")
    op.drop_index(op.f("ix_orders_tenant_id_cart_token"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_dead_letters_tenant_id_created_at"), table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index(op.f("ix_customers_tenant_id_email"), table_name="customers")
    op.drop_table("customers")
    op.drop_index(op.f("ix_checkouts_tenant_id_status_created_at"), table_name="checkouts")
    op.drop_index(op.f("ix_checkouts_tenant_id_shopify_id"), table_name="checkouts")
    op.drop_index(op.f("ix_checkouts_tenant_id_cart_token"), table_name="checkouts")
    op.drop_table("checkouts")
    op.drop_table("checkout_tombstones")
    op.drop_index(op.f("ix_carts_tenant_id_status_created_at"), table_name="carts")
    op.drop_table("carts")
    op.drop_table("tenants")
