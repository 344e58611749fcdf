"""Orders and their money parts, keyed by (tenant_id, Shopify id), and order edits.

Every amount is shop money (the shop's currency, `orders.currency`); the `*_presentment` column
beside it is the same amount in the buyer's currency (`orders.presentment_currency`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, Numeric, String, Text
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
    presentment_currency: Mapped[str | None] = mapped_column(String(8))
    taxes_included: Mapped[bool | None]
    total_line_items_price: Mapped[Decimal | None] = mapped_column(Money)
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_price: Mapped[Decimal | None] = mapped_column(Money)
    total_tax: Mapped[Decimal | None] = mapped_column(Money)
    total_discounts: Mapped[Decimal | None] = mapped_column(Money)
    total_shipping_price: Mapped[Decimal | None] = mapped_column(Money)
    total_duties: Mapped[Decimal | None] = mapped_column(Money)
    total_tip_received: Mapped[Decimal | None] = mapped_column(Money)
    current_total_price: Mapped[Decimal | None] = mapped_column(Money)
    total_refunded: Mapped[Decimal | None] = mapped_column(Money)
    total_price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    total_tax_presentment: Mapped[Decimal | None] = mapped_column(Money)
    total_discounts_presentment: Mapped[Decimal | None] = mapped_column(Money)
    total_shipping_price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    total_refunded_presentment: Mapped[Decimal | None] = mapped_column(Money)
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


def _of_order() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "order_id"], ["orders.tenant_id", "orders.shopify_id"], ondelete="CASCADE"
    )


class OrderLineItem(Base):
    """A line: unit `price` times `quantity` (units ever ordered, refunded and removed included)."""

    __tablename__ = "order_line_items"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    product_id: Mapped[int | None] = mapped_column(BigInteger)
    variant_id: Mapped[int | None] = mapped_column(BigInteger)
    sku: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int]
    current_quantity: Mapped[int | None]
    gift_card: Mapped[bool | None]
    price: Mapped[Decimal | None] = mapped_column(Money)
    price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    # Line-level discounts only (REST total_discount); discount_allocated: every allocation to
    # the line, its share of order-level discounts included.
    total_discount: Mapped[Decimal | None] = mapped_column(Money)
    discount_allocated: Mapped[Decimal | None] = mapped_column(Money)
    discount_allocated_presentment: Mapped[Decimal | None] = mapped_column(Money)
    tax: Mapped[Decimal | None] = mapped_column(Money)
    tax_presentment: Mapped[Decimal | None] = mapped_column(Money)
    duties: Mapped[Decimal | None] = mapped_column(Money)
    duties_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_order(), Index(None, "tenant_id", "order_id"))


class OrderShippingLine(Base):
    __tablename__ = "order_shipping_lines"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Money)
    price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    discounted_price: Mapped[Decimal | None] = mapped_column(Money)
    discount_allocated: Mapped[Decimal | None] = mapped_column(Money)
    discount_allocated_presentment: Mapped[Decimal | None] = mapped_column(Money)
    tax: Mapped[Decimal | None] = mapped_column(Money)
    tax_presentment: Mapped[Decimal | None] = mapped_column(Money)
    is_removed: Mapped[bool | None]

    __table_args__ = (_of_order(), Index(None, "tenant_id", "order_id"))


class OrderPositioned:
    """Children without an id of their own, keyed by their place in the order's list."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)


class OrderDiscountApplication(OrderPositioned, Base):
    """Why a discount applies; `position` is the index allocations point at."""

    __tablename__ = "order_discount_applications"

    type: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    value: Mapped[Decimal | None] = mapped_column(Money)
    value_type: Mapped[str | None] = mapped_column(String(32))
    allocation_method: Mapped[str | None] = mapped_column(String(32))
    target_selection: Mapped[str | None] = mapped_column(String(32))
    target_type: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (_of_order(),)


class OrderDiscountAllocation(OrderPositioned, Base):
    """The amount one discount application took off one line item or shipping line."""

    __tablename__ = "order_discount_allocations"

    line_item_id: Mapped[int | None] = mapped_column(BigInteger)
    shipping_line_id: Mapped[int | None] = mapped_column(BigInteger)
    application_index: Mapped[int | None]
    amount: Mapped[Decimal | None] = mapped_column(Money)
    amount_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_order(),)


class OrderDiscountCode(OrderPositioned, Base):
    __tablename__ = "order_discount_codes"

    code: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_order(),)


class OrderTaxLine(OrderPositioned, Base):
    """The order's taxes by rate and title (lines and shipping together)."""

    __tablename__ = "order_tax_lines"

    title: Mapped[str | None] = mapped_column(Text)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    price: Mapped[Decimal | None] = mapped_column(Money)
    price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    channel_liable: Mapped[bool | None]

    __table_args__ = (_of_order(),)


class OrderDuty(Base):
    __tablename__ = "order_duties"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    line_item_id: Mapped[int | None] = mapped_column(BigInteger)
    harmonized_system_code: Mapped[str | None] = mapped_column(String(32))
    country_code_of_origin: Mapped[str | None] = mapped_column(String(8))
    price: Mapped[Decimal | None] = mapped_column(Money)
    price_presentment: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (_of_order(), Index(None, "tenant_id", "order_id"))


class OrderEdit(TenantScoped, Versioned, Base):
    """An `orders/edited` notice: which order changed and when; the changes stay in `payload`."""

    __tablename__ = "order_edits"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime | None]
    committed_at: Mapped[datetime | None]
    staff_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index(None, "tenant_id", "order_id"),)
