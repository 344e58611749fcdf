"""The sales rollup's statement: the sales report's sums and the insights' order sums per local
day, channel and customer type, from the parts shared with the product rollup
(writes/rollup_sql.py). docs/metrics.md ("Sales report") defines every figure.
"""

from __future__ import annotations

from writes.rollup_sql import BASE, BASE_OF_ORDERS, LINES, UNIT_COST

_SALES = """
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
        FROM needed AS nn CROSS JOIN LATERAL (
            SELECT * FROM order_shipping_lines AS x
            WHERE x.tenant_id = :tenant AND x.order_id = nn.shopify_id OFFSET 0
        ) AS sl
        GROUP BY sl.order_id
    ) AS s ON s.order_id = n.shopify_id
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
    LEFT JOIN (
        SELECT rl.refund_id,
               SUM(rl.goods) FILTER (WHERE rl.gift_card IS NOT TRUE) AS goods,
               SUM(COALESCE(rl.total_tax, 0)) AS tax,
               SUM(unit.cost * rl.quantity) FILTER (WHERE rl.gift_card IS NOT TRUE) AS cost,
               SUM(rl.goods) FILTER (WHERE rl.gift_card IS NOT TRUE AND unit.cost IS NOT NULL)
                   AS goods_with_cost
        FROM (
            SELECT r.*, oo.placed_at,
                   r.subtotal - CASE WHEN oo.taxes_included THEN COALESCE(r.total_tax, 0)
                                     ELSE 0 END AS goods
            FROM refund_orders AS oo CROSS JOIN LATERAL (
                SELECT * FROM refund_line_items AS x
                WHERE x.tenant_id = :tenant AND x.refund_id = oo.shopify_id OFFSET 0
            ) AS r
        ) AS rl
        LEFT JOIN order_line_items AS l
            ON l.tenant_id = :tenant AND l.shopify_id = rl.line_item_id
        {unit_cost}
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
        FROM needed_refunds AS nn CROSS JOIN LATERAL (
            SELECT * FROM order_adjustments AS x
            WHERE x.tenant_id = :tenant AND x.refund_id = nn.shopify_id OFFSET 0
        ) AS y
        GROUP BY refund_id
    ) AS adj ON adj.refund_id = nr.shopify_id
    LEFT JOIN (
        SELECT refund_id, COUNT(*) AS lines, SUM(COALESCE(subtotal, 0)) AS amount,
               SUM(COALESCE(tax, 0)) AS tax
        FROM needed_refunds AS nn CROSS JOIN LATERAL (
            SELECT * FROM refund_shipping_lines AS x
            WHERE x.tenant_id = :tenant AND x.refund_id = nn.shopify_id OFFSET 0
        ) AS y
        GROUP BY refund_id
    ) AS ship ON ship.refund_id = nr.shopify_id
    LEFT JOIN (
        SELECT refund_id, SUM(COALESCE(amount, 0)) AS amount
        FROM needed_refunds AS nn CROSS JOIN LATERAL (
            SELECT * FROM refund_duties AS x
            WHERE x.tenant_id = :tenant AND x.refund_id = nn.shopify_id OFFSET 0
        ) AS y
        GROUP BY refund_id
    ) AS du ON du.refund_id = nr.shopify_id
),
events AS (
    SELECT n.placed_at AS at, n.shopify_id AS order_id, 1 AS orders, s.gross AS gross_sales,
           -s.discounts AS discounts, 0 AS returns, s.shipping, s.taxes, s.duties,
           s.cost, s.net_with_cost, s.gross - s.discounts AS order_value,
           CASE WHEN n.cancelled_at IS NULL THEN 1 ELSE 0 END AS kept_orders,
           n.total_price,
           CASE WHEN n.cancelled_at IS NULL THEN 0 ELSE n.total_price END AS cancelled_price,
           CASE WHEN n.cancelled_at IS NULL THEN n.total_refunded ELSE 0 END AS refunded_price,
           CASE WHEN n.cancelled_at IS NULL THEN n.total_price - n.total_refunded ELSE 0 END
               AS net_price
    FROM sold AS n JOIN sale AS s ON s.shopify_id = n.shopify_id
    UNION ALL
    SELECT r.refunded_at, r.order_id, 0, 0, 0, -m.goods, -m.shipping, -m.taxes, -m.duties,
           -m.cost, -m.net_with_cost, 0, 0, 0, 0, 0, 0
    FROM refunded_in AS r JOIN refund_money AS m ON m.shopify_id = r.shopify_id
    UNION ALL
    SELECT c.cancelled_at, c.shopify_id, 0, 0, 0,
           -(s.gross - s.discounts - COALESCE(back.goods, 0)),
           -(s.shipping - COALESCE(back.shipping, 0)),
           -(s.taxes - COALESCE(back.taxes, 0)),
           -(s.duties - COALESCE(back.duties, 0)),
           -(s.cost - COALESCE(back.cost, 0)),
           -(s.net_with_cost - COALESCE(back.net_with_cost, 0)),
           0, 0, 0, 0, 0, 0
    FROM cancelled AS c
    JOIN sale AS s ON s.shopify_id = c.shopify_id
    LEFT JOIN (
        SELECT order_id, SUM(goods) AS goods, SUM(shipping) AS shipping, SUM(taxes) AS taxes,
               SUM(duties) AS duties, SUM(cost) AS cost, SUM(net_with_cost) AS net_with_cost
        FROM refund_money GROUP BY order_id
    ) AS back ON back.order_id = c.shopify_id
)
SELECT CAST(timezone(:tz, e.at) AS date) AS day, d.channel, d.customer_type,
       SUM(orders) AS orders, SUM(gross_sales) AS gross_sales, SUM(discounts) AS discounts,
       SUM(returns) AS returns, SUM(shipping) AS shipping, SUM(taxes) AS taxes,
       SUM(duties) AS duties, SUM(cost) AS cost, SUM(net_with_cost) AS net_with_cost,
       SUM(order_value) AS order_value, SUM(kept_orders) AS kept_orders,
       SUM(total_price) AS total_price, SUM(cancelled_price) AS cancelled_price,
       SUM(refunded_price) AS refunded_price, SUM(net_price) AS net_price
FROM events AS e JOIN dims AS d ON d.shopify_id = e.order_id
GROUP BY 1, 2, 3
""".format(unit_cost=UNIT_COST.format(line="l", order="rl"))  # noqa: S608

SALES_SQL = BASE + LINES + _SALES
SALES_OF_ORDERS_SQL = BASE_OF_ORDERS + LINES + _SALES
