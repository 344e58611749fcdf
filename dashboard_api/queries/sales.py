"""The sales report: Shopify's sales-report figures per local day, from sales, returns and
cancellations, in exact NUMERIC shop money.

docs/metrics.md ("Sales report") defines every figure and gives Shopify's source for it. The
figures come from the daily rollups (models/rollups.py) when the range is asked in the zone they
are bucketed in (the shop's own, the default), else from the rows by the same statement that
fills the rollups (writes/sales_sql.py), so both ways give the same answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.ranges import DayRange
from writes.rollup_sql import ORDERS_SLOT
from writes.sales_sql import SALES_SQL

ZERO = Decimal(0)
CENT = Decimal("0.01")
MONEY = (
    "gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "duties",
    "total_sales", "cost_of_goods_sold", "net_sales_with_cost_recorded", "gross_profit",
)  # fmt: skip
# The summed columns of a rollup row, as the statement names them.
_SUMS = (
    "orders", "gross_sales", "discounts", "returns", "shipping", "taxes", "duties", "cost",
    "net_with_cost", "order_value",
)  # fmt: skip
# The insights' order sums beside them (by the day the order was placed).
ORDER_SUMS = ("kept_orders", "total_price", "cancelled_price", "refunded_price", "net_price")
CUSTOMER_TYPES = ("new", "returning", "guest")


@dataclass(frozen=True)
class Segment:
    """Which orders a report counts: of one sales channel, one customer type, the customers of
    one RFM segment or with one tag (as of the last analytics recompute), those with a line of
    a product of one type or vendor, or all."""

    channel: str | None = None
    customer_type: str | None = None
    rfm_segment: str | None = None
    tag: str | None = None  # lower case
    product_type: str | None = None
    vendor: str | None = None

    @property
    def narrows_customers(self) -> bool:
        return self.rfm_segment is not None or self.tag is not None

    @property
    def narrows_products(self) -> bool:
        return self.product_type is not None or self.vendor is not None

    def params(self) -> dict[str, Any]:
        """The bound values of `orders_condition`."""
        return {
            "rfm_segment": self.rfm_segment,
            "tag": self.tag,
            "product_type": self.product_type,
            "vendor": self.vendor,
        }

    def key(self) -> str:
        """For cache keys: empty when nothing is filtered."""
        if self == ALL:
            return ""
        return (
            f"|channel={self.channel or ''}|type={self.customer_type or ''}"
            f"|rfm={self.rfm_segment or ''}|tag={self.tag or ''}"
            f"|type={self.product_type or ''}|vendor={self.vendor or ''}"
        )


ALL = Segment()


def orders_condition(alias: str, segment: Segment) -> str:
    """SQL: the order `alias` is of a customer in :rfm_segment and with :tag (by the last
    analytics recompute, workers/analytics), and has a line of a product of :product_type and
    :vendor (the product's own, case-insensitive), for those of them the segment sets."""
    out = ""
    if segment.narrows_customers:
        out += f"""AND {alias}.customer_id IN (
    SELECT ca.customer_id FROM customer_analytics AS ca
    WHERE ca.tenant_id = :tenant
      AND (CAST(:rfm_segment AS text) IS NULL OR ca.segment = :rfm_segment)
      AND (CAST(:tag AS text) IS NULL OR CAST(:tag AS text) = ANY(ca.tags))
)"""  # noqa: S608 (built from constants only)
    if segment.narrows_products:
        out += f"""
AND EXISTS (
    SELECT 1 FROM order_line_items AS fl
    JOIN products AS fp ON fp.tenant_id = :tenant AND fp.shopify_id = fl.product_id
    WHERE fl.tenant_id = :tenant AND fl.order_id = {alias}.shopify_id
      AND (CAST(:product_type AS text) IS NULL OR lower(fp.product_type) = lower(:product_type))
      AND (CAST(:vendor AS text) IS NULL OR lower(fp.vendor) = lower(:vendor))
)"""  # noqa: S608 (built from constants only)
    return out


_WHERE = """
    (CAST(:channel AS text) IS NULL OR channel = :channel)
    AND (CAST(:customer_type AS text) IS NULL OR customer_type = :customer_type)
"""


def rollup_zone(session: Session, *, tenant_id: uuid.UUID) -> str | None:
    """The zone the tenant's rollups are bucketed in; None before anything was written."""
    return session.scalar(
        text("SELECT tz FROM rollup_zones WHERE tenant_id = :tenant"), {"tenant": tenant_id}
    )


def daily_sums(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> dict[Any, Any]:
    """Per local day of the range: every rollup sum, from the rollups when they fit the zone."""
    names = (*_SUMS, *ORDER_SUMS)
    sums = ", ".join(f"SUM({n}) AS {n}" for n in names)
    params = {
        "tenant": tenant_id,
        "tz": rng.tz,
        "channel": segment.channel,
        "customer_type": segment.customer_type,
        **segment.params(),
    }
    narrowed = orders_condition("o", segment)
    if not narrowed and rollup_zone(session, tenant_id=tenant_id) == rng.tz:
        sql = (
            f"SELECT day, {sums} FROM sales_daily WHERE tenant_id = :tenant "  # noqa: S608
            f"AND day >= :first AND day <= :last AND {_WHERE} GROUP BY day"
        )
        params |= {"first": rng.start, "last": rng.end}
    else:
        rows = SALES_SQL.replace(ORDERS_SLOT, narrowed)
        sql = f"SELECT day, {sums} FROM ({rows}) AS q WHERE {_WHERE} GROUP BY day"  # noqa: S608
        params |= {"starts": [rng.start], "ends": [rng.end + timedelta(days=1)]}
    return {row.day: row for row in session.execute(text(sql), params)}


# The newest counted order's: its conditions are the placed-time index's (migration 0005), so
# this reads one index entry from the end instead of sorting the shop's orders.
_CURRENCY = """
SELECT currency FROM orders
WHERE tenant_id = :tenant AND deleted_at IS NULL AND test IS NOT TRUE
  AND CASE WHEN processed_at IS NOT NULL THEN processed_at ELSE created_at END IS NOT NULL
  AND currency IS NOT NULL
ORDER BY CASE WHEN processed_at IS NOT NULL THEN processed_at ELSE created_at END DESC
LIMIT 1
"""


def sales_report(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> dict[str, Any]:
    """Per local day of the range and for the whole range: the sales report's figures.

    PostgreSQL turns the local midnights into instants and the instants into local days, with
    the same time zone database, so bounds and buckets always agree (DST days included)."""
    by_day = daily_sums(session, tenant_id=tenant_id, rng=rng, segment=segment)
    total = dict.fromkeys(_SUMS, ZERO)
    days = []
    for day in rng.days:
        row = by_day.get(day)
        sums = {name: Decimal(getattr(row, name) or 0) if row else ZERO for name in _SUMS}
        for name in _SUMS:
            total[name] += sums[name]
        days.append({"date": day, **figures(sums)})
    return {
        "start": rng.start,
        "end": rng.end,
        "tz": rng.tz,
        "currency": session.scalar(text(_CURRENCY), {"tenant": tenant_id}),
        "totals": figures(total),
        "days": days,
    }


def figures(sums: dict[str, Decimal]) -> dict[str, Any]:
    """The report's figures from exact sums, each rounded half up to the cent at the end."""
    net = sums["gross_sales"] + sums["discounts"] + sums["returns"]
    exact = {
        "gross_sales": sums["gross_sales"],
        "discounts": sums["discounts"],
        "returns": sums["returns"],
        "net_sales": net,
        "shipping": sums["shipping"],
        "taxes": sums["taxes"],
        "duties": sums["duties"],
        "total_sales": net + sums["shipping"] + sums["taxes"] + sums["duties"],
        "cost_of_goods_sold": sums["cost"],
        "net_sales_with_cost_recorded": sums["net_with_cost"],
        "gross_profit": sums["net_with_cost"] - sums["cost"],
    }
    orders = int(sums["orders"])
    out: dict[str, Any] = {"orders": orders}
    out |= {name: cents(value) for name, value in exact.items()}
    out["average_order_value"] = cents(sums["order_value"] / orders) if orders else None
    return out


def cents(amount: Decimal) -> Decimal:
    return (amount + ZERO).quantize(CENT, ROUND_HALF_UP)
