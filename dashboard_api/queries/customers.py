"""The customer analytics list and one customer's analytics, read from `customer_analytics`.

The figures are those of the tenant's last recompute (workers/analytics, `as_of`); a customer's
orders with their new-or-returning type are read live from the orders, so they are always up
to date. docs/metrics.md, "Customers", defines every figure.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Date, any_, cast, func, literal, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from dashboard_api.queries.pagination import Sort
from models import Customer, CustomerAnalytics

CA = CustomerAnalytics
SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "net_spend": CA.net_spend,
    "gross_spend": CA.gross_spend,
    "orders": CA.orders,
    "last_order_at": CA.last_order_at,
    "first_order_at": CA.first_order_at,
    "customer_id": CA.customer_id,
}
DEFAULT_SORT = "-net_spend"
SEGMENTS = (
    "champions", "loyal", "active", "needs_attention", "promising", "new", "at_risk",
    "previously_loyal", "almost_lost", "dormant", "prospects",
)  # fmt: skip
_COLUMNS = [c for c in CA.__table__.c if c.name != "tenant_id"]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _filters(filters: Mapping[str, Any], tz: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.get("segment"):
        where.append(CA.segment == filters["segment"])
    kind = filters.get("customer_type")
    if kind == "new":
        where.append(CA.orders == 1)
    elif kind == "returning":
        where.append(CA.orders > 1)
    if filters.get("tag"):
        # Read along the sort's index: a page fills after a few rows for any common tag.
        where.append(literal(filters["tag"].strip().lower()) == any_(CA.tags))
    first_day = cast(func.timezone(tz, CA.first_order_at), Date)
    if filters.get("first_order_from"):
        where.append(first_day >= filters["first_order_from"])
    if filters.get("first_order_to"):
        where.append(first_day <= filters["first_order_to"])
    if filters.get("min_net_spend") is not None:
        where.append(CA.net_spend >= filters["min_net_spend"])
    if filters.get("max_net_spend") is not None:
        where.append(CA.net_spend <= filters["max_net_spend"])
    return where


def _base(tenant_id: uuid.UUID) -> Any:
    name = func.nullif(func.concat_ws(" ", Customer.first_name, Customer.last_name), "")
    return (
        select(*_COLUMNS, CA.net_spend.label("historical_clv"), Customer.email, name.label("name"))
        .select_from(CA)
        .outerjoin(
            Customer,
            (Customer.tenant_id == CA.tenant_id)
            & (Customer.shopify_id == CA.customer_id)
            & Customer.deleted_at.is_(None),
        )
        .where(CA.tenant_id == tenant_id)
    )


def sort_of(spec: str) -> Sort:
    return Sort.parse(spec, SORTS, (CA.customer_id,))


def list_customers(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    tz: str,
    sort: str,
    limit: int,
    cursor: str | None = None,
    filters: Mapping[str, Any] | None = None,
) -> Page:
    """One page of customers with their figures; CursorError for a foreign cursor."""
    order = sort_of(sort)
    base = _base(tenant_id).where(*_filters(filters or {}, tz))
    rows: list[dict[str, Any]] = []
    for segment in order.segments(order.decode(cursor) if cursor else None):
        stmt = base if segment.where is None else base.where(segment.where)
        stmt = stmt.order_by(*segment.order_by).limit(limit + 1 - len(rows))
        rows += [dict(r._mapping) for r in session.execute(stmt)]
        if len(rows) > limit:
            break
    more = len(rows) > limit
    items = rows[:limit]
    return Page(items, order.encode(items[-1]) if more else None)


# A customer's orders (neither test nor deleted), each first-time or returning as the sales
# report's customer type: by placed time, then id; cancelled ones listed and typed too.
_ORDERS = """
SELECT o.shopify_id AS id, o.name, COALESCE(o.processed_at, o.created_at) AS placed_at,
       o.cancelled_at, COALESCE(o.total_price, 0) AS total_price,
       COALESCE((SELECT SUM(COALESCE(r.total_refunded, 0)) FROM refunds AS r
                 WHERE r.tenant_id = o.tenant_id AND r.order_id = o.shopify_id
                   AND r.deleted_at IS NULL), 0) AS refunded,
       CASE WHEN ROW_NUMBER() OVER (ORDER BY COALESCE(o.processed_at, o.created_at), o.shopify_id)
                 = 1 THEN 'new' ELSE 'returning' END AS customer_type
FROM orders AS o
WHERE o.tenant_id = :tenant AND o.customer_id = :customer AND o.deleted_at IS NULL
  AND o.test IS NOT TRUE
ORDER BY placed_at, o.shopify_id
"""


def customer_analytics(
    session: Session, *, tenant_id: uuid.UUID, customer_id: int
) -> dict[str, Any] | None:
    """One customer's figures and orders; None when the last recompute did not know them."""
    row = session.execute(_base(tenant_id).where(CA.customer_id == customer_id)).first()
    if row is None:
        return None
    orders = session.execute(text(_ORDERS), {"tenant": tenant_id, "customer": customer_id})
    return dict(row._mapping) | {"order_history": [dict(o._mapping) for o in orders]}
