"""Recompute one tenant's customer figures, RFM scores and segments, snapshot and cohorts.

docs/metrics.md ("Customers", "RFM segments", "Cohorts") defines every figure; the SQL follows
it. Set-based on purpose: a shop of 100k customers and 1M orders recomputes in seconds, where a
loop over customers would take minutes. One transaction per tenant, so the API reads either
the old figures or the new ones, never a mix.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import Tenant

# Dated RFM snapshots kept for segment movement: two years of daily recomputes.
SNAPSHOT_DAYS = 731

# Counted orders of known buyers (docs/metrics.md, "Customers"): not deleted, not test, not
# cancelled, with a customer. Placed at processed_at, else created_at; each with its local day
# and month, its place among the customer's orders and the local day of the one before.
_ORDERS = """
CREATE TEMP TABLE analytics_orders ON COMMIT DROP AS
SELECT customer_id, order_id, placed_at, total, day,
       CAST(date_trunc('month', day) AS date) AS month,
       ROW_NUMBER() OVER w AS n, LAG(day) OVER w AS prev_day
FROM (
    SELECT o.customer_id, o.shopify_id AS order_id,
           COALESCE(o.processed_at, o.created_at) AS placed_at,
           COALESCE(o.total_price, 0) AS total,
           CAST(timezone(:tz, COALESCE(o.processed_at, o.created_at)) AS date) AS day
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.deleted_at IS NULL AND o.test IS NOT TRUE
      AND o.cancelled_at IS NULL AND o.customer_id IS NOT NULL
      AND COALESCE(o.processed_at, o.created_at) IS NOT NULL
) AS counted
WINDOW w AS (PARTITION BY customer_id ORDER BY placed_at, order_id)
"""

# Their refunds, dated when processed (else created), at what they paid back in shop money.
_REFUNDS = """
CREATE TEMP TABLE analytics_refunds ON COMMIT DROP AS
SELECT c.customer_id, COALESCE(r.processed_at, r.created_at, c.placed_at) AS refunded_at,
       COALESCE(r.total_refunded, 0) AS amount
FROM refunds AS r JOIN analytics_orders AS c ON c.order_id = r.order_id
WHERE r.tenant_id = :tenant AND r.deleted_at IS NULL
"""

# A score is 1 + floor(5 x (rank - 1) / (n - 1)), capped at 5: quintiles of the shop's buyers in
# which equal values share a score. Integer arithmetic, so no float ever decides a boundary.
_SCORE = "CASE WHEN n = 1 THEN 1 ELSE LEAST(5, 1 + (5 * ({rank} - 1)) / (n - 1)) END"

_CUSTOMERS = f"""
INSERT INTO customer_analytics (
    tenant_id, customer_id, as_of, orders, gross_spend, refunded, net_spend,
    average_order_value, first_order_at, last_order_at, second_order_at, first_order_month,
    average_days_between_orders, recency_days, r_score, f_score, m_score, fm_score, segment,
    tags, known
)
WITH per AS (
    SELECT customer_id, COUNT(*) AS orders, SUM(total) AS gross,
           MIN(placed_at) AS first_at, MAX(placed_at) AS last_at,
           MIN(placed_at) FILTER (WHERE n = 2) AS second_at
    FROM analytics_orders GROUP BY customer_id
),
back AS (
    SELECT customer_id, SUM(amount) AS refunded FROM analytics_refunds GROUP BY customer_id
),
buyers AS (
    SELECT p.*, COALESCE(b.refunded, 0) AS refunded, p.gross - COALESCE(b.refunded, 0) AS net,
           CAST(:as_of AS date) - CAST(timezone(:tz, p.last_at) AS date) AS recency_days
    FROM per AS p LEFT JOIN back AS b USING (customer_id)
),
ranked AS (
    SELECT *, COUNT(*) OVER () AS n,
           RANK() OVER (ORDER BY recency_days DESC) AS r_rank,
           RANK() OVER (ORDER BY orders) AS f_rank,
           RANK() OVER (ORDER BY net) AS m_rank
    FROM buyers
),
scored AS (
    SELECT *, {_SCORE.format(rank="r_rank")} AS r, {_SCORE.format(rank="f_rank")} AS f,
           {_SCORE.format(rank="m_rank")} AS m
    FROM ranked
),
grouped AS (
    SELECT *, CAST(f + m AS numeric) / 2 AS fm FROM scored
),
live AS (
    SELECT shopify_id AS customer_id,
           ARRAY(
               SELECT DISTINCT lower(btrim(tag))
               FROM unnest(string_to_array(payload ->> 'tags', ',')) AS tag
               WHERE btrim(tag) <> ''
               ORDER BY 1
           ) AS tags
    FROM customers
    WHERE tenant_id = :tenant AND deleted_at IS NULL
)
SELECT :tenant, COALESCE(g.customer_id, l.customer_id), :as_of,
       COALESCE(g.orders, 0), COALESCE(g.gross, 0), COALESCE(g.refunded, 0), COALESCE(g.net, 0),
       round(g.gross / g.orders, 2), g.first_at, g.last_at, g.second_at,
       CAST(date_trunc('month', timezone(:tz, g.first_at)) AS date),
       CASE WHEN g.orders > 1
            THEN round(EXTRACT(EPOCH FROM g.last_at - g.first_at) / 86400 / (g.orders - 1), 2)
       END,
       g.recency_days, g.r, g.f, g.m, g.fm,
       CASE
           WHEN g.customer_id IS NULL THEN 'prospects'
           WHEN g.r = 5 AND g.fm >= 4 THEN 'champions'
           WHEN g.r >= 3 AND g.fm >= 4 THEN 'loyal'
           WHEN g.r >= 4 AND g.fm >= 2 THEN 'active'
           WHEN g.r = 5 THEN 'new'
           WHEN g.r = 4 THEN 'promising'
           WHEN g.r = 3 AND g.fm >= 2 THEN 'needs_attention'
           WHEN g.r = 3 THEN 'almost_lost'
           WHEN g.fm >= 4 THEN 'previously_loyal'
           WHEN g.fm >= 3 THEN 'at_risk'
           WHEN g.fm >= 2 THEN 'almost_lost'
           ELSE 'dormant'
       END,
       COALESCE(l.tags, CAST(ARRAY[] AS text[])), l.customer_id IS NOT NULL
FROM grouped AS g FULL JOIN live AS l ON l.customer_id = g.customer_id
"""  # noqa: S608 (built from constants only)

_SNAPSHOT = """
INSERT INTO rfm_snapshots (tenant_id, as_of, customer_id, segment, net_spend)
SELECT tenant_id, as_of, customer_id, segment, net_spend
FROM customer_analytics WHERE tenant_id = :tenant
"""

# The snapshot packed in one row (models/analytics.py, RfmSnapshotPack).
_SNAPSHOT_PACK = """
INSERT INTO rfm_snapshot_packs (tenant_id, as_of, segments, customer_ids, codes)
WITH names AS (
    SELECT COALESCE(array_agg(DISTINCT segment ORDER BY segment), CAST(ARRAY[] AS text[])) AS s
    FROM customer_analytics WHERE tenant_id = :tenant
)
SELECT :tenant, :as_of, names.s,
       COALESCE(string_agg(int8send(c.customer_id), CAST('' AS bytea) ORDER BY c.customer_id),
                CAST('' AS bytea)),
       COALESCE(string_agg(int2send(CAST(array_position(names.s, c.segment) - 1 AS smallint)),
                           CAST('' AS bytea) ORDER BY c.customer_id), CAST('' AS bytea))
FROM names LEFT JOIN customer_analytics AS c ON c.tenant_id = :tenant
GROUP BY names.s
"""

# Every buyer's local days of first and second order, packed (CustomerDayPack).
_DAY_PACK = """
INSERT INTO customer_day_packs (tenant_id, as_of, first_days, second_days)
WITH days AS (
    SELECT customer_id,
           CAST(timezone(:tz, first_order_at) AS date) - DATE '2000-01-01' AS f,
           COALESCE(CAST(timezone(:tz, second_order_at) AS date) - DATE '2000-01-01',
                    2147483647) AS s
    FROM customer_analytics WHERE tenant_id = :tenant AND first_order_at IS NOT NULL
)
SELECT :tenant, :as_of,
       COALESCE(string_agg(int4send(f), CAST('' AS bytea) ORDER BY customer_id),
                CAST('' AS bytea)),
       COALESCE(string_agg(int4send(s), CAST('' AS bytea) ORDER BY customer_id),
                CAST('' AS bytea))
FROM days
"""

_SEGMENT_TOTALS = """
INSERT INTO rfm_segment_totals (tenant_id, segment, customers, net_spend, as_of)
SELECT tenant_id, segment, COUNT(*), SUM(net_spend), :as_of
FROM customer_analytics WHERE tenant_id = :tenant GROUP BY tenant_id, segment
"""

# A customer's first order of each local day (the day before it differs), with that day.
_ORDER_DAYS = """
INSERT INTO customer_order_days (tenant_id, day, prev_day, customers)
SELECT :tenant, day, COALESCE(prev_day, CAST('-infinity' AS date)), COUNT(*)
FROM analytics_orders
WHERE prev_day IS DISTINCT FROM day
GROUP BY day, prev_day
"""

# Orders in their local month, refunds in theirs, each against the buyer's first-order month.
_COHORTS = """
INSERT INTO cohort_cells (
    tenant_id, cohort_month, months_since, customers, orders, net_revenue, as_of
)
WITH firsts AS (
    SELECT customer_id, first_order_month AS m0
    FROM customer_analytics WHERE tenant_id = :tenant AND orders > 0
),
events AS (
    SELECT customer_id, month AS m, 1 AS orders, total AS money
    FROM analytics_orders
    UNION ALL
    SELECT customer_id, CAST(date_trunc('month', timezone(:tz, refunded_at)) AS date),
           0, -amount
    FROM analytics_refunds
),
cells AS (
    SELECT f.m0, e.customer_id, e.orders, e.money,
           GREATEST(0, (EXTRACT(YEAR FROM e.m) * 12 + EXTRACT(MONTH FROM e.m))
               - (EXTRACT(YEAR FROM f.m0) * 12 + EXTRACT(MONTH FROM f.m0))) AS k
    FROM events AS e JOIN firsts AS f USING (customer_id)
)
SELECT :tenant, m0, k, COUNT(DISTINCT customer_id) FILTER (WHERE orders = 1), SUM(orders),
       SUM(money), :as_of
FROM cells GROUP BY m0, k
"""


@dataclass(frozen=True)
class Recomputed:
    """What one recompute wrote, for the job's result and its log line."""

    tenant_id: str
    as_of: date
    customers: int
    cohort_cells: int


def local_today(session: Session, tenant_id: uuid.UUID, now: datetime) -> tuple[str, date]:
    """The shop's time zone and its local date at `now`."""
    zone = session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id)) or "UTC"
    return zone, now.astimezone(ZoneInfo(zone)).date()


def recompute_tenant(session: Session, tenant_id: uuid.UUID, now: datetime) -> Recomputed:
    """Replace the tenant's customer figures and cohorts, and its snapshot of the local day."""
    tz, as_of = local_today(session, tenant_id, now)
    params = {"tenant": tenant_id, "tz": tz, "as_of": as_of}
    session.execute(text("SET LOCAL work_mem = '128MB'"))
    session.execute(text(_ORDERS), params)
    session.execute(text("CREATE INDEX ON analytics_orders (order_id)"))
    session.execute(text("ANALYZE analytics_orders"))
    session.execute(text(_REFUNDS), params)
    session.execute(text("DELETE FROM customer_analytics WHERE tenant_id = :tenant"), params)
    customers = _rows(session.execute(text(_CUSTOMERS), params))
    session.execute(
        text(
            "DELETE FROM rfm_snapshots WHERE tenant_id = :tenant"
            " AND (as_of = :as_of OR as_of < :oldest)"
        ),
        params | {"oldest": as_of - timedelta(days=SNAPSHOT_DAYS)},
    )
    session.execute(text(_SNAPSHOT), params)
    session.execute(
        text(
            "DELETE FROM rfm_snapshot_packs WHERE tenant_id = :tenant"
            " AND (as_of = :as_of OR as_of < :oldest)"
        ),
        params | {"oldest": as_of - timedelta(days=SNAPSHOT_DAYS)},
    )
    session.execute(text(_SNAPSHOT_PACK), params)
    session.execute(text("DELETE FROM customer_day_packs WHERE tenant_id = :tenant"), params)
    session.execute(text(_DAY_PACK), params)
    session.execute(text("DELETE FROM rfm_segment_totals WHERE tenant_id = :tenant"), params)
    session.execute(text(_SEGMENT_TOTALS), params)
    session.execute(text("DELETE FROM customer_order_days WHERE tenant_id = :tenant"), params)
    session.execute(text(_ORDER_DAYS), params)
    session.execute(text("DELETE FROM cohort_cells WHERE tenant_id = :tenant"), params)
    cells = _rows(session.execute(text(_COHORTS), params))
    # Fresh statistics at once: every row was just replaced, and the list's plans depend on them.
    for table in ("customer_analytics", "customer_order_days", "cohort_cells"):
        session.execute(text(f"ANALYZE {table}"))
    session.execute(text("DROP TABLE analytics_refunds"))
    session.execute(text("DROP TABLE analytics_orders"))
    return Recomputed(str(tenant_id), as_of, customers, cells)


def _rows(result: Any) -> int:
    """Rows an INSERT wrote (its CursorResult's rowcount)."""
    return int(result.rowcount)


def tenant_ids(session: Session) -> list[uuid.UUID]:
    """Every tenant, oldest first: the nightly run recomputes them all."""
    return list(session.scalars(select(Tenant.id).order_by(Tenant.created_at, Tenant.id)))
