"""Orders and their line items, keyed by (tenant_id, Shopify id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, TenantScoped, Versioned


class Order(TenantScoped, Versioned, Base):
    __tablename__ = "orders"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(64))
    order_number: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    financial_status: Mapped[str | None] = mapped_column(String(32))
    fulfillment_status: Mapped[str | None] = mapped_column(String(32))
    currency: Mapped[str | None] = mapped_column(String(8))
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_price: Mapped[Decimal | None] = mapped_column(Money)
    total_tax: Mapped[Decimal | None] = mapped_column(Money)
    total_discounts: Mapped[Decimal | None] = mapped_column(Money)
    current_total_price: Mapped[Decimal | None] = mapped_column(Money)
    total_refunded: Mapped[Decimal | None] = mapped_column(Money)
    cancel_reason: Mapped[str | None] = mapped_column(String(32))
    cart_token: Mapped[str | None] = mapped_column(String(255))
    checkout_token: Mapped[str | None] = mapped_column(String(255))
    checkout_id: Mapped[int | None] = mapped_column(BigInteger)
    source_name: Mapped[str | None] = mapped_column(String(64))
    test: Mapped[bool | None]
    created_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        Index(None, "tenant_id", "processed_at"),
        Index(None, "tenant_id", "customer_id"),
        Index(None, "tenant_id", "checkout_token"),
        Index(None, "tenant_id", "cart_token"),
    )


class OrderLineItem(Base):
    __tablename__ = "order_line_items"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int]
    current_quantity: Mapped[int | None]
    price: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.shopify_id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "order_id"),
    )
