"""Carts and checkouts, keyed by (tenant_id, token), and checkout deletions seen by id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money, TenantScoped, Versioned


class Cart(TenantScoped, Versioned, Base):
    __tablename__ = "carts"

    token: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    item_count: Mapped[int | None]
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]

    __table_args__ = (Index(None, "tenant_id", "status", "created_at"),)


class Checkout(TenantScoped, Versioned, Base):
    __tablename__ = "checkouts"

    token: Mapped[str] = mapped_column(String(255), primary_key=True)
    shopify_id: Mapped[int | None] = mapped_column(BigInteger)
    cart_token: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    # Shop money; a checkout's webhooks carry the buyer's (presentment) money only, which is the
    # shop's when both currencies are the same, else known from the Admin API.
    currency: Mapped[str | None] = mapped_column(String(8))
    total_price: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_price: Mapped[Decimal | None] = mapped_column(Money)
    presentment_currency: Mapped[str | None] = mapped_column(String(8))
    total_price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    subtotal_price_presentment: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    recovered_at: Mapped[datetime | None]

    __table_args__ = (
        Index(None, "tenant_id", "shopify_id"),
        Index(None, "tenant_id", "cart_token"),
        Index(None, "tenant_id", "status", "created_at"),
    )


class CheckoutTombstone(TenantScoped, Base):
    """checkouts/delete names the checkout by id and cart token, not by its token: remember
    the deletion until the row it names exists (from API 2026-04 that row has no id)."""

    __tablename__ = "checkout_tombstones"

    shopify_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cart_token: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[datetime]

    __table_args__ = (Index(None, "tenant_id", "cart_token"),)


# The abandonment sweeps walk these partial indexes: each scans only open rows, by last activity
# (the same expression the sweep orders by), however large the table grows.
ABANDONMENT_INDEXES = (
    Index(
        "ix_checkouts_open_activity",
        Checkout.tenant_id,
        func.coalesce(Checkout.updated_at, Checkout.created_at, Checkout.ingested_at),
        postgresql_where=Checkout.status == "open",
    ),
    Index(
        "ix_carts_open_activity",
        Cart.tenant_id,
        func.coalesce(Cart.updated_at, Cart.created_at, Cart.ingested_at),
        postgresql_where=Cart.status == "open",
    ),
)
