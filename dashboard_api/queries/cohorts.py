"""Monthly acquisition cohorts of the last recompute, and the returning customer rate.

docs/metrics.md, "Cohorts", defines them. The cohorts come from `cohort_cells`; the returning
customer rate of a range of days from `customer_order_days` and `customer_day_packs`, so that
no answer reads the orders.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import CohortCell
from models.analytics import CustomerDayPack

RATE = Decimal("0.0001")


def rate(part: int, whole: int) -> float | None:
    """part / whole with four places, rounded half up; None when there is nothing to divide."""
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(RATE, ROUND_HALF_UP))


def cohort_table(
    session: Session, *, tenant_id: uuid.UUID, first_month: date, last_month: date
) -> dict[str, Any]:
    """Each cohort whose first month lies in the range, with its months since the first."""
    cells = session.execute(
        select(CohortCell)
        .where(
            CohortCell.tenant_id == tenant_id,
            CohortCell.cohort_month >= first_month,
            CohortCell.cohort_month <= last_month,
        )
        .order_by(CohortCell.cohort_month, CohortCell.months_since)
    ).scalars()
    cohorts: dict[date, dict[str, Any]] = {}
    as_of = None
    for cell in cells:
        as_of = cell.as_of
        cohort = cohorts.setdefault(cell.cohort_month, {"month": cell.cohort_month, "months": []})
        if cell.months_since == 0:
            cohort["customers"] = cell.customers
        size = cohort.get("customers", 0)
        cohort["months"].append(
            {
                "months_since": cell.months_since,
                "customers": cell.customers,
                "retention": rate(cell.customers, size),
                "orders": cell.orders,
                "net_revenue": cell.net_revenue,
            }
        )
    return {"as_of": as_of, "cohorts": list(cohorts.values())}


# Customers with a counted order in days a..b: those of its days whose order day before lies
# before a (each customer once: on their first day in the range).
_IN_RANGE = """
SELECT COALESCE(SUM(customers), 0) FROM customer_order_days
WHERE tenant_id = :tenant AND day >= :first_day AND day <= :last_day AND prev_day < :first_day
"""
EPOCH = date(2000, 1, 1)


def _first_only(session: Session, tenant_id: uuid.UUID, start: date, end: date) -> int:
    """Buyers whose first order lies in local days start..end and second order does not
    (none, or after end), counted over the recompute's packed days (CustomerDayPack)."""
    row = session.execute(
        select(CustomerDayPack.first_days, CustomerDayPack.second_days).where(
            CustomerDayPack.tenant_id == tenant_id
        )
    ).one_or_none()
    if row is None:
        return 0
    firsts = np.frombuffer(row.first_days, dtype=">i4")
    seconds = np.frombuffer(row.second_days, dtype=">i4")
    a, b = (start - EPOCH).days, (end - EPOCH).days
    return int(np.count_nonzero((firsts >= a) & (firsts <= b) & (seconds > b)))


def returning_customers(
    session: Session, *, tenant_id: uuid.UUID, start: date, end: date, tz: str
) -> dict[str, Any]:
    """Shopify's returning customer rate over local days start..end, as of the recompute."""
    params = {"tenant": tenant_id, "first_day": start, "last_day": end}
    customers = int(session.scalar(text(_IN_RANGE), params) or 0)
    back = customers - _first_only(session, tenant_id, start, end)
    return {"customers": customers, "returning": back, "rate": rate(back, customers)}
