"""The BTYD inputs of one tenant's customers, in SQL: frequency, recency, age and monetary value.

docs/metrics.md ("Predictive CLV") defines them. A purchase is a local day of the shop on which
a customer placed at least one counted order (not deleted, not a test, not cancelled); its value
is the net of those orders (total price less the refunds processed up to the cutoff day). Days,
not orders, because the models count purchase occasions: two orders on one afternoon are one
visit. Customers whose record is deleted are left out; guests have no customer and never enter.

`summarize_both` reads, in one pass, the history up to `end_day` (the calibration) with what
each of those customers did after it up to `final_day` (the holdout, for the quality check),
and the whole history up to `final_day` (what the fit itself uses).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

_SUMMARY = text("""
WITH counted AS (
    SELECT o.shopify_id AS order_id, o.customer_id, COALESCE(o.total_price, 0) AS total,
           CAST(timezone(:tz, COALESCE(o.processed_at, o.created_at)) AS date) AS day
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.deleted_at IS NULL AND o.test IS NOT TRUE
      AND o.cancelled_at IS NULL AND o.customer_id IS NOT NULL
      AND COALESCE(o.processed_at, o.created_at) IS NOT NULL
      AND CAST(timezone(:tz, COALESCE(o.processed_at, o.created_at)) AS date) <= :final_day
      AND NOT EXISTS (
          SELECT 1 FROM customers AS c
          WHERE c.tenant_id = o.tenant_id AND c.shopify_id = o.customer_id
            AND c.deleted_at IS NOT NULL
      )
),
refunded AS (
    SELECT r.order_id,
           SUM(COALESCE(r.total_refunded, 0)) FILTER (WHERE r.day <= :end_day) AS by_end,
           SUM(COALESCE(r.total_refunded, 0)) AS by_final
    FROM (
        -- A refund without a date of its own counts on its order's day.
        SELECT r.order_id, r.total_refunded,
               COALESCE(
                   CAST(timezone(:tz, COALESCE(r.processed_at, r.created_at)) AS date), c.day
               ) AS day
        FROM refunds AS r JOIN counted AS c USING (order_id)
        WHERE r.tenant_id = :tenant AND r.deleted_at IS NULL
    ) AS r
    WHERE r.day <= :final_day
    GROUP BY r.order_id
),
days AS (
    SELECT c.customer_id, c.day,
           SUM(c.total - COALESCE(f.by_end, 0)) AS value_by_end,
           SUM(c.total - COALESCE(f.by_final, 0)) AS value_by_final
    FROM counted AS c LEFT JOIN refunded AS f USING (order_id)
    GROUP BY c.customer_id, c.day
),
firsts AS (
    SELECT customer_id, MIN(day) AS first_day FROM days GROUP BY customer_id
)
SELECT d.customer_id,
       CAST(:end_day AS date) - f.first_day AS age,
       COUNT(*) FILTER (WHERE d.day <= :end_day) - 1 AS frequency,
       MAX(d.day) FILTER (WHERE d.day <= :end_day) - f.first_day AS recency,
       round(AVG(d.value_by_end) FILTER (WHERE d.day <= :end_day AND d.day > f.first_day), 2)
           AS monetary,
       COUNT(*) FILTER (WHERE d.day > :end_day) AS holdout_purchases,
       COALESCE(SUM(d.value_by_final) FILTER (WHERE d.day > :end_day), 0) AS holdout_value,
       CAST(:final_day AS date) - f.first_day AS final_age,
       COUNT(*) - 1 AS final_frequency,
       MAX(d.day) - f.first_day AS final_recency,
       round(AVG(d.value_by_final) FILTER (WHERE d.day > f.first_day), 2) AS final_monetary
FROM days AS d JOIN firsts AS f USING (customer_id)
GROUP BY d.customer_id, f.first_day
ORDER BY d.customer_id
""")


@dataclass(frozen=True)
class Summary:
    """Column arrays, one entry per customer, in customer id order."""

    customer_ids: list[int]
    frequency: list[int]
    recency: list[int]
    age: list[int]
    monetary: list[Decimal | None]  # mean net value of repeat purchases, to the cent; or None
    holdout_purchases: list[int]
    holdout_value: list[Decimal]

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def repeat_customers(self) -> int:
        return sum(1 for f in self.frequency if f > 0)


def summarize_both(
    session: Session, *, tenant_id: uuid.UUID, tz: str, end_day: date, final_day: date
) -> tuple[Summary, Summary]:
    """In one pass over the orders: the inputs as of `end_day` with what those customers did
    after it up to `final_day` (the holdout), and the inputs as of `final_day`."""
    params = {"tenant": tenant_id, "tz": tz, "end_day": end_day, "final_day": final_day}
    rows = session.execute(_SUMMARY, params).all()
    before = [r for r in rows if r.frequency >= 0]  # a first purchase by end_day
    calibration = Summary(
        customer_ids=[r.customer_id for r in before],
        frequency=[r.frequency for r in before],
        recency=[r.recency for r in before],
        age=[r.age for r in before],
        monetary=[r.monetary for r in before],
        holdout_purchases=[r.holdout_purchases for r in before],
        holdout_value=[r.holdout_value for r in before],
    )
    full = Summary(
        customer_ids=[r.customer_id for r in rows],
        frequency=[r.final_frequency for r in rows],
        recency=[r.final_recency for r in rows],
        age=[r.final_age for r in rows],
        monetary=[r.final_monetary for r in rows],
        holdout_purchases=[0] * len(rows),
        holdout_value=[Decimal(0)] * len(rows),
    )
    return calibration, full


def summarize(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    tz: str,
    end_day: date,
    final_day: date | None = None,
) -> Summary:
    """The customers' inputs as of `end_day`, with their purchases after it up to `final_day`."""
    both = summarize_both(
        session, tenant_id=tenant_id, tz=tz, end_day=end_day, final_day=final_day or end_day
    )
    return both[0]
