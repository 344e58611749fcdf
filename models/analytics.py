"""Customer analytics, recomputed per tenant by the analytics job (workers/analytics).

Derived tables only: every row can be rebuilt from orders, refunds and customers, and the job
replaces a tenant's rows in one transaction. Money is exact shop money (docs/metrics.md,
"Customers"); rounding to the cent happens when the API answers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money


def _tenant() -> Mapped[uuid.UUID]:
    return mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )


class CustomerAnalytics(Base):
    """One customer's lifetime figures and RFM scores as of `as_of` (a local day of the shop).

    `known` is false when the customer record is deleted (or missing): only their orders remain.
    """

    __tablename__ = "customer_analytics"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    as_of: Mapped[date]
    orders: Mapped[int] = mapped_column(Integer)
    gross_spend: Mapped[Decimal] = mapped_column(Money)
    refunded: Mapped[Decimal] = mapped_column(Money)
    net_spend: Mapped[Decimal] = mapped_column(Money)
    average_order_value: Mapped[Decimal | None] = mapped_column(Money)
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    second_order_at: Mapped[datetime | None]
    first_order_month: Mapped[date | None]
    average_days_between_orders: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    recency_days: Mapped[int | None]
    r_score: Mapped[int | None] = mapped_column(SmallInteger)
    f_score: Mapped[int | None] = mapped_column(SmallInteger)
    m_score: Mapped[int | None] = mapped_column(SmallInteger)
    fm_score: Mapped[Decimal | None] = mapped_column(Numeric(2, 1))
    segment: Mapped[str] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    known: Mapped[bool]


class RfmSnapshot(Base):
    """A customer's segment on one day: what segment movement over a period compares."""

    __tablename__ = "rfm_snapshots"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    as_of: Mapped[date] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    segment: Mapped[str] = mapped_column(String(32))
    net_spend: Mapped[Decimal] = mapped_column(Money)


class CohortCell(Base):
    """An acquisition cohort (month of first order) in its `months_since`-th month."""

    __tablename__ = "cohort_cells"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    cohort_month: Mapped[date] = mapped_column(primary_key=True)
    months_since: Mapped[int] = mapped_column(Integer, primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    net_revenue: Mapped[Decimal] = mapped_column(Money)
    as_of: Mapped[date]


class RfmSegmentTotal(Base):
    """A segment's customers and net spend at the last recompute."""

    __tablename__ = "rfm_segment_totals"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    segment: Mapped[str] = mapped_column(String(32), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    net_spend: Mapped[Decimal] = mapped_column(Money)
    as_of: Mapped[date]


class CustomerOrderDay(Base):
    """Customers who ordered on local `day` and, before it, last on `prev_day` (-infinity:
    never): the customers of a range [a, b] are those of its days with `prev_day` < a."""

    __tablename__ = "customer_order_days"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    day: Mapped[date] = mapped_column(primary_key=True)
    prev_day: Mapped[date] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)


class RfmSnapshotPack(Base):
    """One dated snapshot packed: customer ids ascending (big-endian int8) and, in the same
    order, each one's segment as a big-endian int2 index into `segments`."""

    __tablename__ = "rfm_snapshot_packs"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    as_of: Mapped[date] = mapped_column(primary_key=True)
    segments: Mapped[list[str]] = mapped_column(ARRAY(Text))
    customer_ids: Mapped[bytes] = mapped_column(LargeBinary)
    codes: Mapped[bytes] = mapped_column(LargeBinary)


class CustomerDayPack(Base):
    """Every buyer's local day of first and of second order (big-endian int4 days since
    2000-01-01; no second order: 2147483647), one pair per buyer in the same order."""

    __tablename__ = "customer_day_packs"

    tenant_id: Mapped[uuid.UUID] = _tenant()
    as_of: Mapped[date]
    first_days: Mapped[bytes] = mapped_column(LargeBinary)
    second_days: Mapped[bytes] = mapped_column(LargeBinary)
