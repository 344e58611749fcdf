"""The product sales rollup's statement: units and money per local day, channel, customer type,
product and variant, from the same parts as the sales report's (writes/rollup_sql.py).

A line sells on its order's day, its refunded units return on the refund's day, and what is
left of it returns on the day the order was cancelled. Refund adjustments (discrepancies,
shipping) belong to no line and stay out (docs/metrics.md, "Product sales").
"""

from __future__ import annotations

from writes.rollup_sql import BASE, BASE_OF_ORDERS, LINES

_PRODUCTS = """
-- What the refunds of each cancelled order's line gave back already.
returned_before AS (
    SELECT rl.order_id, rl.line_item_id, SUM(rl.quantity) AS quantity,
           SUM(COALESCE(rl.goods, 0)) AS goods
    FROM refund_lines AS rl
    WHERE rl.order_id IN (SELECT shopify_id FROM cancelled)
    GROUP BY 1, 2
),
events AS (
    SELECT n.placed_at AS at, l.order_id, l.product_id, l.variant_id,
           l.quantity AS units_sold, 0 AS units_returned, l.gross AS gross_sales,
           -l.discounts AS discounts, 0 AS returns,
           COALESCE(l.unit_cost * l.quantity, 0) AS cost,
           CASE WHEN l.unit_cost IS NULL THEN 0 ELSE l.gross - l.discounts END AS net_with_cost,
           CASE WHEN l.unit_cost IS NULL THEN 0 ELSE l.quantity END AS units_with_cost
    FROM sold AS n JOIN costed_lines AS l ON l.order_id = n.shopify_id
    UNION ALL
    SELECT r.refunded_at, rl.order_id, rl.product_id, rl.variant_id,
           0, rl.quantity, 0, 0, -COALESCE(rl.goods, 0),
           -COALESCE(rl.unit_cost * rl.quantity, 0),
           CASE WHEN rl.unit_cost IS NULL THEN 0 ELSE -COALESCE(rl.goods, 0) END,
           CASE WHEN rl.unit_cost IS NULL THEN 0 ELSE -rl.quantity END
    FROM refunded_in AS r JOIN refund_lines AS rl ON rl.refund_id = r.shopify_id
    UNION ALL
    SELECT c.cancelled_at, l.order_id, l.product_id, l.variant_id,
           0, l.quantity - COALESCE(b.quantity, 0), 0, 0,
           -(l.gross - l.discounts - COALESCE(b.goods, 0)),
           -COALESCE(l.unit_cost * (l.quantity - COALESCE(b.quantity, 0)), 0),
           CASE WHEN l.unit_cost IS NULL THEN 0
                ELSE -(l.gross - l.discounts - COALESCE(b.goods, 0)) END,
           CASE WHEN l.unit_cost IS NULL THEN 0 ELSE -(l.quantity - COALESCE(b.quantity, 0)) END
    FROM cancelled AS c
    JOIN costed_lines AS l ON l.order_id = c.shopify_id
    LEFT JOIN returned_before AS b ON b.order_id = l.order_id AND b.line_item_id = l.shopify_id
)
SELECT CAST(timezone(:tz, e.at) AS date) AS day, d.channel, d.customer_type,
       e.product_id, e.variant_id,
       SUM(units_sold) AS units_sold, SUM(units_returned) AS units_returned,
       SUM(gross_sales) AS gross_sales, SUM(discounts) AS discounts, SUM(returns) AS returns,
       SUM(gross_sales) + SUM(discounts) + SUM(returns) AS net_sales,
       SUM(cost) AS cost_of_goods_sold, SUM(net_with_cost) AS net_sales_with_cost_recorded,
       SUM(units_with_cost) AS units_with_cost
FROM events AS e JOIN dims AS d ON d.shopify_id = e.order_id
GROUP BY 1, 2, 3, 4, 5
"""

PRODUCTS_SQL = BASE + LINES + _PRODUCTS
PRODUCTS_OF_ORDERS_SQL = BASE_OF_ORDERS + LINES + _PRODUCTS
