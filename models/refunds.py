"""Refunds and their parts, order transactions, and fulfillments, keyed by (tenant_id, id).

None of them points at its order by a foreign key: Shopify may deliver a refund, a transaction
or a fulfillment before the order it belongs to, and none may be lost for that.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, TenantScoped, Versioned


class Refund(TenantScoped, Versioned, Base):
    """A refund; `total_refunded` is the money its successful refund transactions returned, in
    shop money (docs/metrics.md)."""

    __tablename__ = "refunds"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    restock: Mapped[bool | None]
    total_refunded: Mapped[Decimal | None] = mapped_column(Money)
    total_refunded_presentment: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "order_id"),)


def _of_refund() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "refund_id"], ["refunds.tenant_id", "refunds.shopify_id"], ondelete="CASCADE"
    )


class RefundLineItem(Base):
    """Goods refunded: `subtotal` is after the line's discounts, before tax."""

    __tablename__ = "refund_line_items"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    line_item_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int]
    restock_type: Mapped[str | None] = mapped_column(String(32))
    location_id: Mapped[int | None] = mapped_column(BigInteger)
    gift_card: Mapped[bool | None]
    price: Mapped[Decimal | None] = mapped_column(Money)
    subtotal: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_presentment: Mapped[Decimal | None] = mapped_column(Money)
    total_tax: Mapped[Decimal | None] = mapped_column(Money)
    total_tax_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_refund(), Index(None, "tenant_id", "refund_id"))


class RefundShippingLine(Base):
    __tablename__ = "refund_shipping_lines"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    shipping_line_id: Mapped[int | None] = mapped_column(BigInteger)
    subtotal: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_presentment: Mapped[Decimal | None] = mapped_column(Money)
    tax: Mapped[Decimal | None] = mapped_column(Money)
    tax_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_refund(), Index(None, "tenant_id", "refund_id"))


class OrderAdjustment(Base):
    """The difference between a refund's calculated and actual amount (`refund_discrepancy`),
    or, before API 2024-10, refunded shipping (`shipping_refund`, negative)."""

    __tablename__ = "order_adjustments"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    refund_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    amount_presentment: Mapped[Decimal | None] = mapped_column(Money)
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)
    tax_amount_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_refund(), Index(None, "tenant_id", "refund_id"))


class RefundDuty(Base):
    __tablename__ = "refund_duties"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    refund_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    duty_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    amount_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_refund(),)


class OrderTransaction(TenantScoped, Versioned, Base):
    """Money moving: `amount` is in `currency` (the buyer's, for webhooks); `amount_shop` is
    shop money where the source says (the Admin API, or a transaction in the shop currency)."""

    __tablename__ = "order_transactions"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    refund_id: Mapped[int | None] = mapped_column(BigInteger)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(32))
    gateway: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(8))
    amount_shop: Mapped[Decimal | None] = mapped_column(Money)
    error_code: Mapped[str | None] = mapped_column(String(64))
    source_name: Mapped[str | None] = mapped_column(String(64))
    test: Mapped[bool | None]
    created_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "order_id"),)


class Fulfillment(TenantScoped, Versioned, Base):
    __tablename__ = "fulfillments"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    shipment_status: Mapped[str | None] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(Text)
    tracking_company: Mapped[str | None] = mapped_column(Text)
    # JSON lists of text (a shipment may have several parcels).
    tracking_numbers: Mapped[list[str] | None] = mapped_column(JSONB)
    tracking_urls: Mapped[list[str] | None] = mapped_column(JSONB)
    location_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "order_id"),)


class FulfillmentLineItem(Base):
    """Units of one order line in one fulfillment."""

    __tablename__ = "fulfillment_line_items"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    fulfillment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_item_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[int | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "fulfillment_id"],
            ["fulfillments.tenant_id", "fulfillments.shopify_id"],
            ondelete="CASCADE",
        ),
    )
