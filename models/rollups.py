"""Per-tenant daily rollups of the sales report, the insights' order sums and product sales.

Each row sums one local day (in the tenant's rollup zone, `RollupZone`) for one sales channel
and one customer type, so a report over any range reads a few rows per day instead of every
order. The write path keeps them equal to a recompute from the rows (writes/rollups.py);
docs/architecture.md ("Rollups") says how, docs/metrics.md what each column sums.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Numeric, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TenantScoped

# Unconstrained NUMERIC: sums of shop money stay exact however many rows they add up.
Sum = Numeric()
CUSTOMER_TYPES = ("new", "returning", "guest")


class RollupZone(Base):
    """The time zone a tenant's rollups are bucketed in (its own, when they were built).

    A report in another zone, or after the shop changed its zone and before a rebuild, is
    answered from the rows instead.
    """

    __tablename__ = "rollup_zones"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    tz: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(server_default=func.now())


class _Daily(TenantScoped):
    """The key every rollup starts with: tenant, local day, channel and customer type."""

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # orders.source_name ("web", "pos", an app's id), '' when the order names none.
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    # new: the customer's first order; returning: a later one; guest: no customer.
    customer_type: Mapped[str] = mapped_column(String(16), primary_key=True)


class SalesDaily(_Daily, Base):
    """The sales report's sums (dated by event) and the insights' order sums (by placed day)."""

    __tablename__ = "sales_daily"

    orders: Mapped[int] = mapped_column(BigInteger)
    gross_sales: Mapped[Decimal] = mapped_column(Sum)
    discounts: Mapped[Decimal] = mapped_column(Sum)
    returns: Mapped[Decimal] = mapped_column(Sum)
    shipping: Mapped[Decimal] = mapped_column(Sum)
    taxes: Mapped[Decimal] = mapped_column(Sum)
    duties: Mapped[Decimal] = mapped_column(Sum)
    cost: Mapped[Decimal] = mapped_column(Sum)
    net_with_cost: Mapped[Decimal] = mapped_column(Sum)
    order_value: Mapped[Decimal] = mapped_column(Sum)
    kept_orders: Mapped[int] = mapped_column(BigInteger)
    total_price: Mapped[Decimal] = mapped_column(Sum)
    cancelled_price: Mapped[Decimal] = mapped_column(Sum)
    refunded_price: Mapped[Decimal] = mapped_column(Sum)
    net_price: Mapped[Decimal] = mapped_column(Sum)


class ProductSalesDaily(_Daily, Base):
    """Product sales per variant: units and money of lines sold, refunded and cancelled."""

    __tablename__ = "product_sales_daily"

    # 0 for a line without a product or variant (a custom item).
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    variant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    units_sold: Mapped[int] = mapped_column(BigInteger)
    units_returned: Mapped[int] = mapped_column(BigInteger)
    gross_sales: Mapped[Decimal] = mapped_column(Sum)
    discounts: Mapped[Decimal] = mapped_column(Sum)
    returns: Mapped[Decimal] = mapped_column(Sum)
    net_sales: Mapped[Decimal] = mapped_column(Sum)
    cost_of_goods_sold: Mapped[Decimal] = mapped_column(Sum)
    net_sales_with_cost_recorded: Mapped[Decimal] = mapped_column(Sum)
    units_with_cost: Mapped[int] = mapped_column(BigInteger)
