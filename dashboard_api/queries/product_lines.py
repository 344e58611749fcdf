"""Product sales from the orders, their lines and refunds, for a range in a zone the daily
product rollup is not bucketed in or a segment of customers: one row per (day, channel,
customer type, product, variant) and event, as the rollup sums them (writes/product_sql.py).

From the rows:

Each line gives up to three events, as the sales report dates them (docs/metrics.md): its sale
when the order was placed; each refund line's return when the refund was processed; and, when
the order was cancelled, the return of what its refunds left (units and money). A line is costed
at the unit cost in force when its order was placed (else the first one known); a line without
a known cost counts in no cost figure. `customer_type` is `new` for the customer's first
counted order (by when it was placed, then by id), `returning` for a later one, `guest` for an
order without a customer.
"""

from __future__ import annotations

from writes.rollup_sql import ORDERS_SLOT

FROM_ROWS = """
WITH
bounds AS (
    SELECT timezone(:tz, CAST(:first_day AS timestamp)) AS lo,
           timezone(:tz, CAST(:after_day AS timestamp)) AS hi
),
counted AS NOT MATERIALIZED (
    SELECT o.shopify_id, o.customer_id, o.taxes_included, o.cancelled_at,
           COALESCE(o.source_name, '') AS channel,
           CASE WHEN o.processed_at IS NOT NULL THEN o.processed_at ELSE o.created_at END
               AS placed_at
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.deleted_at IS NULL AND o.test IS NOT TRUE
),
needed AS (
    SELECT c.* FROM counted AS c, bounds AS b
    WHERE ((c.placed_at >= b.lo AND c.placed_at < b.hi)
       OR (c.cancelled_at >= b.lo AND c.cancelled_at < b.hi)
       OR EXISTS (
           SELECT 1 FROM refunds AS r
           WHERE r.tenant_id = :tenant AND r.order_id = c.shopify_id
             AND COALESCE(r.processed_at, r.created_at) >= b.lo
             AND COALESCE(r.processed_at, r.created_at) < b.hi))
      /* orders */
),
typed AS (
    SELECT n.*,
           CASE WHEN n.customer_id IS NULL THEN 'guest'
                WHEN EXISTS (
                    SELECT 1 FROM counted AS e
                    WHERE e.customer_id = n.customer_id
                      AND (e.placed_at, e.shopify_id) < (n.placed_at, n.shopify_id))
                THEN 'returning' ELSE 'new' END AS customer_type
    FROM needed AS n
),
lines AS (
    SELECT t.*, l.shopify_id AS line_id, COALESCE(l.product_id, 0) AS product_id,
           COALESCE(l.variant_id, 0) AS variant_id, l.quantity,
           l.price * l.quantity
               - CASE WHEN t.taxes_included THEN COALESCE(l.tax, 0) ELSE 0 END AS gross,
           COALESCE(l.discount_allocated, 0) AS discount, unit.cost AS unit_cost,
           COALESCE(back.units, 0) AS back_units, COALESCE(back.goods, 0) AS back_goods
    FROM typed AS t
    JOIN order_line_items AS l ON l.tenant_id = :tenant AND l.order_id = t.shopify_id
    LEFT JOIN product_variants AS v ON v.tenant_id = :tenant AND v.shopify_id = l.variant_id
    LEFT JOIN LATERAL (
        SELECT c.cost FROM inventory_item_costs AS c
        WHERE c.tenant_id = :tenant AND c.inventory_item_id = v.inventory_item_id
        ORDER BY c.recorded_at <= t.placed_at DESC,
                 CASE WHEN c.recorded_at <= t.placed_at THEN c.recorded_at END DESC NULLS LAST,
                 c.recorded_at
        LIMIT 1
    ) AS unit ON true
    LEFT JOIN LATERAL (
        SELECT SUM(rl.quantity) AS units,
               SUM(rl.subtotal - CASE WHEN t.taxes_included THEN COALESCE(rl.total_tax, 0)
                                      ELSE 0 END) AS goods
        FROM refund_line_items AS rl
        WHERE rl.tenant_id = :tenant AND rl.line_item_id = l.shopify_id
    ) AS back ON true
    WHERE l.gift_card IS NOT TRUE AND l.price IS NOT NULL
),
events AS (
    SELECT li.placed_at AS at, li.channel, li.customer_type, li.product_id, li.variant_id,
           li.quantity AS units_sold, 0 AS units_returned, li.gross AS gross_sales,
           -li.discount AS discounts, 0 AS returns, li.unit_cost * li.quantity AS cost,
           CASE WHEN li.unit_cost IS NOT NULL THEN li.gross - li.discount END AS net_with_cost,
           CASE WHEN li.unit_cost IS NOT NULL THEN li.quantity END AS units_with_cost
    FROM lines AS li
    UNION ALL
    SELECT COALESCE(r.processed_at, r.created_at), li.channel, li.customer_type,
           li.product_id, li.variant_id, 0, rl.quantity, 0, 0, -goods.amount,
           -li.unit_cost * rl.quantity,
           CASE WHEN li.unit_cost IS NOT NULL THEN -goods.amount END,
           CASE WHEN li.unit_cost IS NOT NULL THEN -rl.quantity END
    FROM lines AS li
    JOIN refund_line_items AS rl ON rl.tenant_id = :tenant AND rl.line_item_id = li.line_id
    JOIN refunds AS r ON r.tenant_id = :tenant AND r.shopify_id = rl.refund_id
    CROSS JOIN LATERAL (
        SELECT rl.subtotal - CASE WHEN li.taxes_included THEN COALESCE(rl.total_tax, 0)
                                  ELSE 0 END AS amount
    ) AS goods
    WHERE rl.gift_card IS NOT TRUE
    UNION ALL
    SELECT li.cancelled_at, li.channel, li.customer_type, li.product_id, li.variant_id, 0,
           li.quantity - li.back_units, 0, 0, -(li.gross - li.discount - li.back_goods),
           -li.unit_cost * (li.quantity - li.back_units),
           CASE WHEN li.unit_cost IS NOT NULL
                THEN -(li.gross - li.discount - li.back_goods) END,
           CASE WHEN li.unit_cost IS NOT NULL THEN -(li.quantity - li.back_units) END
    FROM lines AS li WHERE li.cancelled_at IS NOT NULL
)
SELECT CAST(timezone(:tz, e.at) AS date) AS day, e.channel, e.customer_type, e.product_id,
       e.variant_id, e.units_sold, e.units_returned, e.gross_sales, e.discounts, e.returns,
       e.cost, e.net_with_cost, e.units_with_cost
FROM events AS e, bounds AS b
WHERE e.at >= b.lo AND e.at < b.hi
"""

_FROM_ROWS = f"""
SELECT r.day >= CAST(:split_day AS date) AS current, r.* FROM ({FROM_ROWS}) AS r
"""  # noqa: S608 (built from constants only)


def rows_source(orders: str = "") -> str:
    """The rows of both periods from the orders (`current`: on or after :split_day), of the
    orders the condition `orders` (on alias `c`) keeps."""
    return _FROM_ROWS.replace(ORDERS_SLOT, orders)
