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
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.ranges import DayRange
from writes.rollup_sql import ORDERS_SLOT
from writes.sales_sql import SALES_SQL

ZERO = Decimal(0)
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


def _cents(sql: str) -> str:
    """SQL: exact money rounded half away from zero to the cent (Python's ROUND_HALF_UP), as
    text with two places."""
    return f"CAST(round({sql}, 2) AS text)"


def _sum(name: str) -> str:
    return f"COALESCE(SUM({name}), 0)"


def exact_money(sql: str) -> str:
    """SQL: exact money as text with at least two places, as the API writes it
    (dashboard_api/views/data/fields.py, `money_text`): 12.5 -> "12.50", 0.1250 -> "0.125"."""
    return (
        f"CASE WHEN scale(trim_scale({sql})) <= 2 THEN CAST(round({sql}, 2) AS text) "
        f"ELSE CAST(trim_scale({sql}) AS text) END"
    )


_NET = f"{_sum('gross_sales')} + {_sum('discounts')} + {_sum('returns')}"
# The sales report's figures (docs/metrics.md, "Sales report") from the summed rollup columns,
# each rounded to the cent once, from the exact sums.
FIGURES = {
    "orders": f"CAST({_sum('orders')} AS bigint)",
    "gross_sales": _cents(_sum("gross_sales")),
    "discounts": _cents(_sum("discounts")),
    "returns": _cents(_sum("returns")),
    "net_sales": _cents(_NET),
    "shipping": _cents(_sum("shipping")),
    "taxes": _cents(_sum("taxes")),
    "duties": _cents(_sum("duties")),
    "total_sales": _cents(f"{_NET} + {_sum('shipping')} + {_sum('taxes')} + {_sum('duties')}"),
    "cost_of_goods_sold": _cents(_sum("cost")),
    "net_sales_with_cost_recorded": _cents(_sum("net_with_cost")),
    "gross_profit": _cents(f"{_sum('net_with_cost')} - {_sum('cost')}"),
    "average_order_value": _cents(f"{_sum('order_value')} / NULLIF({_sum('orders')}, 0)"),
}
# A day without any rollup row.
NO_SALES = {name: "0.00" for name in FIGURES} | {"orders": 0, "average_order_value": None}


def daily_sums(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    rng: DayRange,
    segment: Segment = ALL,
    columns: dict[str, str] | None = None,
) -> tuple[dict[Any, Any], Any]:
    """Per local day of the range that has any rollup row, and for the whole range (its `day`
    None): `columns` (name: SQL aggregate over the rollup columns), by default every rollup
    sum; from the rollups when they fit the zone, else from the rows."""
    sql, params = _summed(session, tenant_id, rng, segment, columns)
    by_day, total = {}, None
    for row in session.execute(text(sql), params):
        if row.day is None:
            total = row
        else:
            by_day[row.day] = row
    return by_day, total


def _summed(
    session: Session,
    tenant_id: uuid.UUID,
    rng: DayRange,
    segment: Segment,
    columns: dict[str, str] | None,
) -> tuple[str, dict[str, Any]]:
    """The statement of `daily_sums`, and its parameters."""
    wanted = columns or {n: _sum(n) for n in (*_SUMS, *ORDER_SUMS)}
    selected = ", ".join(f"{sql} AS {name}" for name, sql in wanted.items())
    params = {
        "tenant": tenant_id,
        "tz": rng.tz,
        "channel": segment.channel,
        "customer_type": segment.customer_type,
        **segment.params(),
    }
    narrowed = orders_condition("o", segment)
    if not narrowed and rollup_zone(session, tenant_id=tenant_id) == rng.tz:
        source = (
            "SELECT * FROM sales_daily WHERE tenant_id = :tenant AND day >= :first AND day <= :last"
        )
    else:
        source = SALES_SQL.replace(ORDERS_SLOT, narrowed)
        params |= {"starts": [rng.start], "ends": [rng.end + timedelta(days=1)]}
    params |= {"first": rng.start, "last": rng.end}
    sql = (
        f"SELECT day, {selected} FROM ({source}) AS q WHERE {_WHERE} "  # noqa: S608
        "GROUP BY GROUPING SETS ((day), ())"
    )
    return sql, params


# Every day of the range with its figures (NO_SALES without any), and the totals, as JSON
# built by PostgreSQL: a three-year report is then one row of text instead of 15,000 values
# made and converted one by one in Python.
_REPORT = """
WITH per AS MATERIALIZED ({summed})
SELECT
    (SELECT json_build_object({totals}) FROM per AS p WHERE p.day IS NULL) AS totals,
    (SELECT json_agg(json_build_object('date', d.day, {days}) ORDER BY d.day)
     FROM (SELECT CAST(g AS date) AS day
           FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS g
          ) AS d
     LEFT JOIN per AS p ON p.day = d.day) AS days
"""


def figures_by_day(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    rng: DayRange,
    segment: Segment,
    figures: dict[str, str],
    zero: dict[str, Any],
    on_days: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any] | None, JsonRows]:
    """The range's `figures` (name: SQL aggregate over the rollup columns, giving JSON-ready
    values) for the whole range (None without any row) and for every day (the figures
    `on_days`, all by default; `zero`'s on a day without any row), built by PostgreSQL."""

    def pairs(names: Any) -> str:
        def value(name: str) -> str:
            none = zero[name]
            if none is None:
                return f"p.{name}"
            return f"COALESCE(p.{name}, {none if isinstance(none, int) else repr(none)})"

        return ", ".join(f"'{name}', {value(name)}" for name in names)

    summed, params = _summed(session, tenant_id, rng, segment, figures)
    sql = _REPORT.format(summed=summed, totals=pairs(figures), days=pairs(on_days or figures))
    report = session.execute(text(sql), params).one()
    return report.totals, JsonRows(report.days)


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
    """Per local day of the range and for the whole range: the sales report's figures (money
    as text in cents, computed by SQL from the exact sums: `FIGURES`). `days` are `JsonRows`,
    as PostgreSQL built them.

    PostgreSQL turns the local midnights into instants and the instants into local days, with
    the same time zone database, so bounds and buckets always agree (DST days included)."""
    totals, days = figures_by_day(
        session, tenant_id=tenant_id, rng=rng, segment=segment, figures=FIGURES, zero=NO_SALES
    )
    return {
        "start": rng.start,
        "end": rng.end,
        "tz": rng.tz,
        "currency": session.scalar(text(_CURRENCY), {"tenant": tenant_id}),
        "totals": totals or NO_SALES,
        "days": days,
    }


class JsonRows(list):
    """Rows already in their JSON form (keys, money as text, dates as ISO text), as a
    statement built them: `Rows` (dashboard_api/views/data/fields.py) gives them as they are."""
