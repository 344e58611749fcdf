"""The sales report: Shopify's sales-report figures per local day, from sales, returns and
cancellations, in exact NUMERIC shop money.

docs/metrics.md ("Sales report") defines every figure and gives Shopify's source for it; the SQL
below follows that table row by row. One statement: three kinds of event (an order's sale on the
day it was placed, a refund's return on the day it was processed, a cancellation's return of
what is left on the day it was cancelled), each a row of signed amounts, summed per local day.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.ranges import DayRange

ZERO = Decimal(0)
CENT = Decimal("0.01")
MONEY = (
    "gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "duties",
    "total_sales", "cost_of_goods_sold", "net_sales_with_cost_recorded", "gross_profit",
)  # fmt: skip
# The summed columns of an event row, as the statement names them.
_SUMS = (
    "orders", "gross_sales", "discounts", "returns", "shipping", "taxes", "duties", "cost",
    "net_with_cost", "order_value",
)  # fmt: skip

# Orders that count (not deleted, not test), and when they were placed: Shopify's processed_at,
# else created_at. A refund is dated by its processed_at, else created_at.
_SQL = """
WITH
bounds AS (
    SELECT timezone(:tz, CAST(:first_day AS timestamp)) AS lo,
           timezone(:tz, CAST(:after_last_day AS timestamp)) AS hi
),
counted AS NOT MATERIALIZED (
    SELECT o.shopify_id, o.taxes_included, o.cancelled_at,
           COALESCE(o.total_tax, 0) AS taxes, COALESCE(o.total_duties, 0) AS duties,
           CASE WHEN o.processed_at IS NOT NULL THEN o.processed_at ELSE o.created_at END
               AS placed_at
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.deleted_at IS NULL AND o.test IS NOT TRUE
),
sold AS (
    SELECT c.* FROM counted AS c, bounds AS b WHERE c.placed_at >= b.lo AND c.placed_at < b.hi
),
cancelled AS (
    SELECT c.* FROM counted AS c, bounds AS b
    WHERE c.cancelled_at >= b.lo AND c.cancelled_at < b.hi
),
dated_refunds AS NOT MATERIALIZED (
    SELECT r.shopify_id, r.order_id,
           CASE WHEN r.processed_at IS NOT NULL THEN r.processed_at ELSE r.created_at END
               AS refunded_at
    FROM refunds AS r
    WHERE r.tenant_id = :tenant
),
refunded_in AS (
    SELECT d.* FROM dated_refunds AS d JOIN counted AS c ON c.shopify_id = d.order_id
    CROSS JOIN bounds AS b
    WHERE d.refunded_at >= b.lo AND d.refunded_at < b.hi
),
-- The orders whose sale is needed: sold in the range, or cancelled in it.
needed AS (
    SELECT shopify_id, taxes_included, placed_at, taxes, duties FROM sold
    UNION
    SELECT shopify_id, taxes_included, placed_at, taxes, duties FROM cancelled
),
-- Each line with its unit cost as recorded when the order was placed (else the first known).
costed_lines AS (
    SELECT l.order_id, l.shopify_id, l.quantity,
           l.price * l.quantity
               - CASE WHEN n.taxes_included THEN COALESCE(l.tax, 0) ELSE 0 END AS gross,
           COALESCE(l.discount_allocated, 0) AS discounts,
           unit.cost AS unit_cost
    FROM needed AS n
    -- Each order's lines by the (tenant, order) index: a join would read every line of the
    -- shop to find the range's (OFFSET 0 keeps the planner from turning this into one).
    CROSS JOIN LATERAL (
        SELECT * FROM order_line_items AS li
        WHERE li.tenant_id = :tenant AND li.order_id = n.shopify_id
        OFFSET 0
    ) AS l
    LEFT JOIN product_variants AS v ON v.tenant_id = :tenant AND v.shopify_id = l.variant_id
    LEFT JOIN LATERAL (
        SELECT c.cost FROM inventory_item_costs AS c
        WHERE c.tenant_id = :tenant AND c.inventory_item_id = v.inventory_item_id
        ORDER BY c.recorded_at <= n.placed_at DESC,
                 CASE WHEN c.recorded_at <= n.placed_at THEN c.recorded_at END DESC NULLS LAST,
                 c.recorded_at
        LIMIT 1
    ) AS unit ON true
    WHERE l.gift_card IS NOT TRUE AND l.price IS NOT NULL
),
sale AS (
    SELECT n.shopify_id,
           COALESCE(g.gross, 0) AS gross, COALESCE(g.discounts, 0) AS discounts,
           COALESCE(s.shipping, 0) AS shipping, n.taxes, n.duties,
           COALESCE(g.cost, 0) AS cost, COALESCE(g.net_with_cost, 0) AS net_with_cost
    FROM needed AS n
    LEFT JOIN (
        SELECT order_id, SUM(gross) AS gross, SUM(discounts) AS discounts,
               SUM(unit_cost * quantity) AS cost,
               SUM(gross - discounts) FILTER (WHERE unit_cost IS NOT NULL) AS net_with_cost
        FROM costed_lines GROUP BY order_id
    ) AS g ON g.order_id = n.shopify_id
    LEFT JOIN (
        SELECT sl.order_id,
               SUM(COALESCE(sl.price, 0) - COALESCE(sl.discount_allocated, 0)
                   - CASE WHEN nn.taxes_included THEN COALESCE(sl.tax, 0) ELSE 0 END)
                   AS shipping
        FROM needed AS nn
        JOIN order_shipping_lines AS sl
            ON sl.tenant_id = :tenant AND sl.order_id = nn.shopify_id
        GROUP BY sl.order_id
    ) AS s ON s.order_id = n.shopify_id
),
-- The refunds whose return is needed: processed in the range, or of an order cancelled in it.
needed_refunds AS (
    SELECT shopify_id, order_id FROM refunded_in
    UNION
    SELECT d.shopify_id, d.order_id FROM dated_refunds AS d
    JOIN cancelled AS c ON c.shopify_id = d.order_id
),
refund_money AS (
    SELECT nr.shopify_id, nr.order_id,
           COALESCE(lines.goods, 0) - COALESCE(adj.discrepancy, 0) AS goods,
           CASE WHEN COALESCE(ship.lines, 0) > 0 THEN ship.amount
                ELSE -COALESCE(adj.shipping, 0) END AS shipping,
           COALESCE(lines.tax, 0)
               + CASE WHEN COALESCE(ship.lines, 0) > 0 THEN COALESCE(ship.tax, 0)
                      ELSE -COALESCE(adj.shipping_tax, 0) END
               - COALESCE(adj.discrepancy_tax, 0) AS taxes,
           COALESCE(du.amount, 0) AS duties,
           COALESCE(lines.cost, 0) AS cost,
           COALESCE(lines.goods_with_cost, 0) AS net_with_cost
    FROM needed_refunds AS nr
    JOIN counted AS o ON o.shopify_id = nr.order_id
    LEFT JOIN (
        SELECT rl.refund_id,
               SUM(rl.subtotal
                   - CASE WHEN oo.taxes_included THEN COALESCE(rl.total_tax, 0) ELSE 0 END)
                   FILTER (WHERE rl.gift_card IS NOT TRUE) AS goods,
               SUM(COALESCE(rl.total_tax, 0)) AS tax,
               SUM(unit.cost * rl.quantity) FILTER (WHERE rl.gift_card IS NOT TRUE) AS cost,
               SUM(rl.subtotal
                   - CASE WHEN oo.taxes_included THEN COALESCE(rl.total_tax, 0) ELSE 0 END)
                   FILTER (WHERE rl.gift_card IS NOT TRUE AND unit.cost IS NOT NULL)
                   AS goods_with_cost
        FROM needed_refunds AS nn
        JOIN counted AS oo ON oo.shopify_id = nn.order_id
        JOIN refund_line_items AS rl ON rl.tenant_id = :tenant AND rl.refund_id = nn.shopify_id
        LEFT JOIN order_line_items AS l
            ON l.tenant_id = :tenant AND l.shopify_id = rl.line_item_id
        LEFT JOIN product_variants AS v ON v.tenant_id = :tenant AND v.shopify_id = l.variant_id
        LEFT JOIN LATERAL (
            SELECT c.cost FROM inventory_item_costs AS c
            WHERE c.tenant_id = :tenant AND c.inventory_item_id = v.inventory_item_id
            ORDER BY c.recorded_at <= oo.placed_at DESC,
                     CASE WHEN c.recorded_at <= oo.placed_at THEN c.recorded_at END
                         DESC NULLS LAST,
                     c.recorded_at
            LIMIT 1
        ) AS unit ON true
        GROUP BY rl.refund_id
    ) AS lines ON lines.refund_id = nr.shopify_id
    LEFT JOIN (
        SELECT refund_id,
               SUM(amount) FILTER (WHERE kind IS DISTINCT FROM 'shipping_refund')
                   AS discrepancy,
               SUM(tax_amount) FILTER (WHERE kind IS DISTINCT FROM 'shipping_refund')
                   AS discrepancy_tax,
               SUM(amount) FILTER (WHERE kind = 'shipping_refund') AS shipping,
               SUM(tax_amount) FILTER (WHERE kind = 'shipping_refund') AS shipping_tax
        FROM order_adjustments
        WHERE tenant_id = :tenant AND refund_id IN (SELECT shopify_id FROM needed_refunds)
        GROUP BY refund_id
    ) AS adj ON adj.refund_id = nr.shopify_id
    LEFT JOIN (
        SELECT refund_id, COUNT(*) AS lines, SUM(COALESCE(subtotal, 0)) AS amount,
               SUM(COALESCE(tax, 0)) AS tax
        FROM refund_shipping_lines
        WHERE tenant_id = :tenant AND refund_id IN (SELECT shopify_id FROM needed_refunds)
        GROUP BY refund_id
    ) AS ship ON ship.refund_id = nr.shopify_id
    LEFT JOIN (
        SELECT refund_id, SUM(COALESCE(amount, 0)) AS amount
        FROM refund_duties
        WHERE tenant_id = :tenant AND refund_id IN (SELECT shopify_id FROM needed_refunds)
        GROUP BY refund_id
    ) AS du ON du.refund_id = nr.shopify_id
),
events AS (
    SELECT n.placed_at AS at, 1 AS orders, s.gross AS gross_sales,
           -s.discounts AS discounts, 0 AS returns, s.shipping, s.taxes, s.duties,
           s.cost, s.net_with_cost, s.gross - s.discounts AS order_value
    FROM sold AS n JOIN sale AS s ON s.shopify_id = n.shopify_id
    UNION ALL
    SELECT r.refunded_at, 0, 0, 0, -m.goods, -m.shipping, -m.taxes, -m.duties,
           -m.cost, -m.net_with_cost, 0
    FROM refunded_in AS r JOIN refund_money AS m ON m.shopify_id = r.shopify_id
    UNION ALL
    SELECT c.cancelled_at, 0, 0, 0,
           -(s.gross - s.discounts - COALESCE(back.goods, 0)),
           -(s.shipping - COALESCE(back.shipping, 0)),
           -(s.taxes - COALESCE(back.taxes, 0)),
           -(s.duties - COALESCE(back.duties, 0)),
           -(s.cost - COALESCE(back.cost, 0)),
           -(s.net_with_cost - COALESCE(back.net_with_cost, 0)),
           0
    FROM cancelled AS c
    JOIN sale AS s ON s.shopify_id = c.shopify_id
    LEFT JOIN (
        SELECT order_id, SUM(goods) AS goods, SUM(shipping) AS shipping, SUM(taxes) AS taxes,
               SUM(duties) AS duties, SUM(cost) AS cost, SUM(net_with_cost) AS net_with_cost
        FROM refund_money GROUP BY order_id
    ) AS back ON back.order_id = c.shopify_id
)
SELECT CAST(timezone(:tz, at) AS date) AS day,
       SUM(orders) AS orders, SUM(gross_sales) AS gross_sales, SUM(discounts) AS discounts,
       SUM(returns) AS returns, SUM(shipping) AS shipping, SUM(taxes) AS taxes,
       SUM(duties) AS duties, SUM(cost) AS cost, SUM(net_with_cost) AS net_with_cost,
       SUM(order_value) AS order_value
FROM events
GROUP BY 1
"""

_CURRENCY = """
SELECT currency FROM orders
WHERE tenant_id = :tenant AND currency IS NOT NULL AND deleted_at IS NULL
ORDER BY CASE WHEN processed_at IS NOT NULL THEN processed_at ELSE created_at END DESC
    NULLS LAST
LIMIT 1
"""


def sales_report(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
    """Per local day of the range and for the whole range: the sales report's figures.

    PostgreSQL turns the local midnights into instants and the instants into local days, with
    the same time zone database, so bounds and buckets always agree (DST days included)."""
    params = {
        "tenant": tenant_id,
        "tz": rng.tz,
        "first_day": rng.start.isoformat(),
        "after_last_day": (rng.end + timedelta(days=1)).isoformat(),
    }
    by_day = {row.day: row for row in session.execute(text(_SQL), params)}
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
