"""The orders an insight counts, and what cannot be summed per day: distinct buyers, repeat
buyers and the top customers of a range. For all of a shop's orders they are counted from the
orders' columns kept in memory (dashboard_api/queries/columns.py); for a segment of them, from
the orders (by the partial index of migration 0005) with the same segment conditions the
rollups are keyed by.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import Numeric, any_, case, exists, func, literal, select, tuple_
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from dashboard_api.queries import columns
from dashboard_api.queries.columns import Table, micros, units
from dashboard_api.queries.filters import has_line_of
from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import ALL, Segment
from models import Customer, CustomerAnalytics, Order
from writes.rollup_sql import PLACED_AT

ZERO = Decimal(0)
TOP = 5

# Per order: its customer (0: a guest), when it was placed, whether it counts for its customer
# (counted, not cancelled, not a guest's) and what was spent on it (total less refunded).
ORDERS = Table(
    "orders",
    "t.shopify_id",
    (
        ("customer", "COALESCE(t.customer_id, 0)"),
        ("placed", micros(PLACED_AT.format(t="t"))),
        (
            "bought",
            "CASE WHEN t.deleted_at IS NULL AND t.test IS NOT TRUE AND t.cancelled_at IS NULL "
            "AND t.customer_id IS NOT NULL THEN 1 ELSE 0 END",
        ),
        ("spent", f"{units('t.total_price')} - {units('t.total_refunded')}"),
    ),
    coded=("customer",),
    small=("bought",),
)
# Sums of money in ten-thousandths are added as float64, exact below 2**53.
_EXACT = 2**53


def placed_at() -> ColumnElement[Any]:
    """When an order counts: Shopify's processed_at (what its own reports use), else created_at.

    Spelled as CASE, not COALESCE: under row-level security PostgreSQL only uses quals it
    deems leakproof as index conditions, and it counts COALESCE as leaky but not CASE. It must
    match the index expression of migration 0005 exactly.
    """
    return case((Order.processed_at.is_not(None), Order.processed_at), else_=Order.created_at)


def counted_orders(
    tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> list[ColumnElement[bool]]:
    lo, hi = rng.bounds()
    # Mirrors the partial index of migration 0005, so the planner can use it.
    return [
        Order.tenant_id == tenant_id,
        Order.deleted_at.is_(None),
        Order.test.is_not(True),
        placed_at() >= lo,
        placed_at() < hi,
        *in_segment(tenant_id, segment),
    ]


def in_segment(tenant_id: uuid.UUID, segment: Segment) -> list[ColumnElement[bool]]:
    """SQL: the order is of the segment's channel, customer type (writes/rollup_sql.py) and
    customers."""
    conditions: list[ColumnElement[bool]] = []
    if segment.channel is not None:
        conditions.append(func.coalesce(Order.source_name, "") == segment.channel)
    kind = segment.customer_type
    if kind == "guest":
        conditions.append(Order.customer_id.is_(None))
    elif kind is not None:
        earlier = aliased(Order)
        before = exists().where(
            earlier.tenant_id == tenant_id,
            earlier.customer_id == Order.customer_id,
            earlier.deleted_at.is_(None),
            earlier.test.is_not(True),
            tuple_(
                case((earlier.processed_at.is_not(None), earlier.processed_at),
                     else_=earlier.created_at),
                earlier.shopify_id,
            )
            < tuple_(placed_at(), Order.shopify_id),
        )  # fmt: skip
        conditions += [Order.customer_id.is_not(None), before if kind == "returning" else ~before]
    if segment.narrows_customers:
        chosen = select(CustomerAnalytics.customer_id).where(
            CustomerAnalytics.tenant_id == tenant_id
        )
        if segment.rfm_segment is not None:
            chosen = chosen.where(CustomerAnalytics.segment == segment.rfm_segment)
        if segment.tag is not None:
            chosen = chosen.where(literal(segment.tag) == any_(CustomerAnalytics.tags))
        conditions.append(Order.customer_id.in_(chosen))
    if segment.narrows_products:
        conditions.append(has_line_of(segment.product_type, segment.vendor))
    return conditions


def money(expr: Any) -> ColumnElement[Decimal]:
    return func.coalesce(expr, literal(ZERO, Numeric(20, 4)))


def _buyers(tenant_id: uuid.UUID, rng: DayRange, segment: Segment, *columns: Any) -> Any:
    """Per customer with a counted, non-cancelled order in the range (guest orders left out)."""
    return (
        select(Order.customer_id.label("customer_id"), func.count().label("orders"), *columns)
        .where(*counted_orders(tenant_id, rng, segment), Order.cancelled_at.is_(None))
        .where(Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .subquery("per")
    )


@dataclass(frozen=True)
class Buyers:
    """The customers who bought in a range: how many, how many of them twice or more, and the
    five who spent the most (total - refunded; ties by id)."""

    buyers: int
    repeat: int
    top: list[Any]


def buyers(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> Buyers:
    """The range's buyers: of all orders from the columns in memory, of a segment from SQL."""
    if segment == ALL:
        found = _in_memory(session, tenant_id, rng)
        if found is not None:
            return found
    return Buyers(
        *_counted(session, tenant_id, rng, segment), _top(session, tenant_id, rng, segment)
    )


def _counted(
    session: Session, tenant_id: uuid.UUID, rng: DayRange, segment: Segment
) -> tuple[int, int]:
    per = _buyers(tenant_id, rng, segment)
    stmt = select(func.count(), func.count().filter(per.c.orders >= 2)).select_from(per)
    buyers, repeat = session.execute(stmt).one()
    return buyers, repeat


def _top(session: Session, tenant_id: uuid.UUID, rng: DayRange, segment: Segment) -> list[Any]:
    spent = func.sum(money(Order.total_price) - money(Order.total_refunded)).label("spent")
    per = _buyers(tenant_id, rng, segment, spent)
    top = select(per).order_by(per.c.spent.desc(), per.c.customer_id).limit(TOP).subquery("top")
    stmt = (
        select(top, Customer.email, Customer.first_name, Customer.last_name)
        .outerjoin(
            Customer,
            (Customer.tenant_id == tenant_id)
            & (Customer.shopify_id == top.c.customer_id)
            & Customer.deleted_at.is_(None),
        )
        .order_by(top.c.spent.desc(), top.c.customer_id)
    )
    return list(session.execute(stmt).all())


def _in_memory(session: Session, tenant_id: uuid.UUID, rng: DayRange) -> Buyers | None:
    """`buyers` of all orders from the columns in memory; None if the sums could not be
    exact."""
    lo, hi = rng.micros(session)
    with columns.reading(session, ORDERS, tenant_id) as orders:
        placed = orders["placed"]
        chosen = (orders["bought"] == 1) & (placed >= lo) & (placed < hi)
        codes, spent = orders["customer_code"][chosen], orders["spent"][chosen]
        if int(np.abs(spent).sum()) >= _EXACT:
            return None
        n = len(orders.code_keys("customer"))
        counts = np.bincount(codes, minlength=n)
        sums = np.bincount(codes, weights=spent.astype(np.float64), minlength=n)
        bought = np.flatnonzero(counts)
        buyers, repeat = len(bought), int(np.count_nonzero(counts >= 2))
        if len(bought) > TOP:  # those at least as high as the fifth highest, ties included
            fifth = np.partition(sums[bought], len(bought) - TOP)[len(bought) - TOP]
            bought = bought[sums[bought] >= fifth]
        ids = orders.code_keys("customer")
        ranked = sorted(
            ((int(sums[c]), int(ids[c]), int(counts[c])) for c in bought),
            key=lambda r: (-r[0], r[1]),
        )[:TOP]
    found = {
        row.shopify_id: row
        for row in session.execute(
            select(Customer.shopify_id, Customer.email, Customer.first_name, Customer.last_name)
            .where(Customer.tenant_id == tenant_id, Customer.deleted_at.is_(None))
            .where(Customer.shopify_id.in_([r[1] for r in ranked]))
        )
    }
    top = [
        _TopRow(
            customer_id=customer,
            orders=count,
            spent=Decimal(spent_units).scaleb(-4),
            email=found[customer].email if customer in found else None,
            first_name=found[customer].first_name if customer in found else None,
            last_name=found[customer].last_name if customer in found else None,
        )
        for spent_units, customer, count in ranked
    ]
    return Buyers(buyers, repeat, top)


@dataclass(frozen=True)
class _TopRow:
    customer_id: int
    orders: int
    spent: Decimal
    email: str | None
    first_name: str | None
    last_name: str | None
