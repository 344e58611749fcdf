"""The SQL behind the rollups: the sales report's and the product sales' figures per local day,
channel and customer type, for any set of day windows, read from the rows.

One statement per rollup, built from shared parts. The write path runs them over the days a
write touched (writes/rollups.py), the rebuild over every day, and the reports over a range when
no rollup fits the zone asked for (dashboard_api/queries/sales.py); so a rollup row is, by
construction, what a recompute from the rows gives. docs/metrics.md defines every figure.
"""

from __future__ import annotations

# Where a report narrows the counted orders (to some customers' orders, or those with a line
# of some products: dashboard_api/queries/sales.py puts a condition here); the rollups never do.
ORDERS_SLOT = "/* orders */"

# When an order counts and was placed, when a refund was made: CASE, not COALESCE, so that the
# expression indexes (migrations 0005 and 0013) apply under row-level security.
PLACED_AT = "CASE WHEN {t}.processed_at IS NOT NULL THEN {t}.processed_at ELSE {t}.created_at END"

# :tenant, :tz, and the windows [:starts[i], :ends[i]) of local days, disjoint.
_HEAD = f"""
WITH
bounds AS MATERIALIZED (
    SELECT timezone(:tz, CAST(w.s AS timestamp)) AS lo, timezone(:tz, CAST(w.e AS timestamp)) AS hi
    FROM unnest(CAST(:starts AS date[]), CAST(:ends AS date[])) AS w(s, e)
),
counted AS NOT MATERIALIZED (
    SELECT o.shopify_id, o.taxes_included, o.cancelled_at, o.customer_id,
           COALESCE(o.source_name, '') AS channel,
           COALESCE(o.total_tax, 0) AS taxes, COALESCE(o.total_duties, 0) AS duties,
           COALESCE(o.total_price, 0) AS total_price,
           COALESCE(o.total_refunded, 0) AS total_refunded,
           {PLACED_AT.format(t="o")} AS placed_at
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.deleted_at IS NULL AND o.test IS NOT TRUE {ORDERS_SLOT}
),
-- Every lookup below is a LATERAL with OFFSET 0: an index scan per window or per order, which
-- the planner cannot turn into a scan of the shop's whole table on a bad row estimate.
dated_refunds AS NOT MATERIALIZED (
    SELECT r.shopify_id, r.order_id, {PLACED_AT.format(t="r")} AS refunded_at
    FROM refunds AS r
    WHERE r.tenant_id = :tenant
),
"""  # noqa: S608 (built from constants only)

# The events of the orders sold, cancelled or refunded in the windows.
_IN_WINDOWS = """
sold AS (
    SELECT c.* FROM bounds AS b CROSS JOIN LATERAL (
        SELECT * FROM counted AS o WHERE o.placed_at >= b.lo AND o.placed_at < b.hi OFFSET 0
    ) AS c
),
cancelled AS (
    SELECT c.* FROM bounds AS b CROSS JOIN LATERAL (
        SELECT * FROM counted AS o
        WHERE o.cancelled_at >= b.lo AND o.cancelled_at < b.hi OFFSET 0
    ) AS c
),
refunded_in AS (
    SELECT d.* FROM bounds AS b CROSS JOIN LATERAL (
        SELECT * FROM dated_refunds AS r
        WHERE r.refunded_at >= b.lo AND r.refunded_at < b.hi OFFSET 0
    ) AS d
    WHERE EXISTS (SELECT 1 FROM counted AS c WHERE c.shopify_id = d.order_id OFFSET 0)
),
"""

# Every event of the orders :ids, whenever it happened: one order's share of the rollups.
_OF_ORDERS = """
sold AS (
    SELECT c.* FROM unnest(CAST(:ids AS bigint[])) AS i(id) CROSS JOIN LATERAL (
        SELECT * FROM counted AS o WHERE o.shopify_id = i.id OFFSET 0
    ) AS c
    WHERE c.placed_at IS NOT NULL
),
cancelled AS (
    SELECT c.* FROM unnest(CAST(:ids AS bigint[])) AS i(id) CROSS JOIN LATERAL (
        SELECT * FROM counted AS o WHERE o.shopify_id = i.id OFFSET 0
    ) AS c
    WHERE c.cancelled_at IS NOT NULL
),
refunded_in AS (
    SELECT d.* FROM unnest(CAST(:ids AS bigint[])) AS i(id) CROSS JOIN LATERAL (
        SELECT * FROM dated_refunds AS r WHERE r.order_id = i.id OFFSET 0
    ) AS d
    WHERE d.refunded_at IS NOT NULL
      AND EXISTS (SELECT 1 FROM counted AS c WHERE c.shopify_id = d.order_id OFFSET 0)
),
"""

_TAIL = f"""
-- The orders whose sale is needed: sold in the windows, or cancelled in them.
needed AS (
    SELECT shopify_id, taxes_included, placed_at, taxes, duties FROM sold
    UNION
    SELECT shopify_id, taxes_included, placed_at, taxes, duties FROM cancelled
),
-- The refunds whose return is needed: made in the windows, or of an order cancelled in them.
needed_refunds AS (
    SELECT shopify_id, order_id FROM refunded_in
    UNION
    SELECT d.shopify_id, d.order_id FROM cancelled AS c CROSS JOIN LATERAL (
        SELECT * FROM dated_refunds AS r WHERE r.order_id = c.shopify_id OFFSET 0
    ) AS d
),
-- The needed refunds with their order's placed time and tax treatment.
refund_orders AS (
    SELECT nr.shopify_id, nr.order_id, oo.placed_at, oo.taxes_included
    FROM needed_refunds AS nr CROSS JOIN LATERAL (
        SELECT * FROM counted AS o WHERE o.shopify_id = nr.order_id OFFSET 0
    ) AS oo
),
-- Every order an event belongs to, with its channel and customer type: new when no counted
-- order of the same customer was placed before it (ties by id), guest without a customer.
dims AS (
    SELECT c.shopify_id, c.channel,
           CASE WHEN c.customer_id IS NULL THEN 'guest'
                WHEN EXISTS (
                    SELECT 1 FROM orders AS e
                    WHERE e.tenant_id = :tenant AND e.customer_id = c.customer_id
                      AND e.deleted_at IS NULL AND e.test IS NOT TRUE
                      AND ({PLACED_AT.format(t="e")}, e.shopify_id) < (c.placed_at, c.shopify_id)
                ) THEN 'returning'
                ELSE 'new' END AS customer_type
    FROM (SELECT shopify_id FROM needed UNION SELECT order_id FROM refunded_in) AS ids
    CROSS JOIN LATERAL (
        SELECT * FROM counted AS o WHERE o.shopify_id = ids.shopify_id OFFSET 0
    ) AS c
),
"""  # noqa: S608 (built from constants only)
BASE = _HEAD + _IN_WINDOWS + _TAIL
BASE_OF_ORDERS = _HEAD + _OF_ORDERS + _TAIL

# A line's unit cost as recorded when its order was placed (else the first one recorded).
UNIT_COST = """
    LEFT JOIN product_variants AS v ON v.tenant_id = :tenant AND v.shopify_id = {line}.variant_id
    LEFT JOIN LATERAL (
        SELECT ic.cost FROM inventory_item_costs AS ic
        WHERE ic.tenant_id = :tenant AND ic.inventory_item_id = v.inventory_item_id
        ORDER BY ic.recorded_at <= {order}.placed_at DESC,
                 CASE WHEN ic.recorded_at <= {order}.placed_at THEN ic.recorded_at END
                     DESC NULLS LAST,
                 ic.recorded_at
        LIMIT 1
    ) AS unit ON true
"""

# Every line of the needed orders (gift cards and unpriced lines left out), costed.
LINES = f"""
costed_lines AS (
    SELECT l.order_id, l.shopify_id, l.quantity,
           COALESCE(l.product_id, 0) AS product_id, COALESCE(l.variant_id, 0) AS variant_id,
           l.price * l.quantity
               - CASE WHEN n.taxes_included THEN COALESCE(l.tax, 0) ELSE 0 END AS gross,
           COALESCE(l.discount_allocated, 0) AS discounts,
           unit.cost AS unit_cost
    FROM needed AS n
    -- Each order's lines by the (tenant, order) index (OFFSET 0 keeps it a per-order lookup).
    CROSS JOIN LATERAL (
        SELECT * FROM order_line_items AS li
        WHERE li.tenant_id = :tenant AND li.order_id = n.shopify_id
        OFFSET 0
    ) AS l
    {UNIT_COST.format(line="l", order="n")}
    WHERE l.gift_card IS NOT TRUE AND l.price IS NOT NULL
),
-- Every goods line of the needed refunds, costed as its order line was sold.
refund_lines AS (
    SELECT oo.shopify_id AS refund_id, oo.order_id, rl.line_item_id, rl.quantity,
           COALESCE(l.product_id, 0) AS product_id, COALESCE(l.variant_id, 0) AS variant_id,
           rl.subtotal
               - CASE WHEN oo.taxes_included THEN COALESCE(rl.total_tax, 0) ELSE 0 END AS goods,
           unit.cost AS unit_cost
    FROM refund_orders AS oo
    CROSS JOIN LATERAL (
        SELECT * FROM refund_line_items AS x
        WHERE x.tenant_id = :tenant AND x.refund_id = oo.shopify_id OFFSET 0
    ) AS rl
    LEFT JOIN order_line_items AS l ON l.tenant_id = :tenant AND l.shopify_id = rl.line_item_id
    {UNIT_COST.format(line="l", order="oo")}
    WHERE rl.gift_card IS NOT TRUE
),
"""  # noqa: S608 (built from constants only)
