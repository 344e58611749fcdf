"""Products and their variants, keyed by (tenant_id, Shopify id)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, TenantScoped, Versioned


class Product(TenantScoped, Versioned, Base):
    __tablename__ = "products"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    handle: Mapped[str | None] = mapped_column(Text)
    vendor: Mapped[str | None] = mapped_column(Text)
    product_type: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    price: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # The last version written carried only some variants in full (webhooks carry the first
    # 100): the others are kept as they were until the Admin API fills them in.
    variants_partial: Mapped[bool] = mapped_column(server_default="false")


class ProductVariant(Base):
    __tablename__ = "product_variants"

    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str | None] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal | None] = mapped_column(Money)
    compare_at_price: Mapped[Decimal | None] = mapped_column(Money)
    inventory_quantity: Mapped[int | None]
    inventory_item_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.shopify_id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "product_id"),
        Index(None, "tenant_id", "inventory_item_id"),
    )
