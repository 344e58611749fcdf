"""Insights for one tenant and one range of local days, aggregated in SQL with exact NUMERIC money.

Every definition here is written down in the README ("Metric definitions"); keep them in step.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Numeric, case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import sales_report
from models import Cart, Checkout, Customer, Order

ZERO = Decimal(0)
CENT = Decimal("0.01")
RATE = Decimal("0.0001")


def placed_at() -> ColumnElement[Any]:
    """When an order counts: Shopify's processed_at (what its own reports use), else created_at.

    Spelled as CASE, not COALESCE: under row-level security PostgreSQL only uses quals it
    deems leakproof as index conditions, and it counts COALESCE as leaky but not CASE. It must
    match the index expression of migration 0005 exactly.
    """
    return case((Order.processed_at.is_not(None), Order.processed_at), else_=Order.created_at)


def _counted_orders(tenant_id: uuid.UUID, rng: DayRange) -> list[ColumnElement[bool]]:
    lo, hi = rng.bounds()
    # Mirrors the partial index of migration 0005, so the planner can use it.
    return [
        Order.tenant_id == tenant_id,
        Order.deleted_at.is_(None),
        Order.test.is_not(True),
        placed_at() >= lo,
        placed_at() < hi,
    ]


def _money(expr: Any) -> ColumnElement[Decimal]:
    return func.coalesce(expr, literal(ZERO, Numeric(20, 4)))


def order_totals(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
    """Per local day and for the whole range: counts, gross, cancellations, refunds, net."""
    kept = Order.cancelled_at.is_(None)
    price, refunded = _money(Order.total_price), _money(Order.total_refunded)
    day = rng.local_day(placed_at()).label("day")
    stmt = (
        select(
            day,
            func.count().label("orders"),
            func.count().filter(kept).label("kept"),
            # SUM skips NULLs, so only the difference needs per-row COALESCE.
            _money(func.sum(Order.total_price)).label("gross"),
            _money(func.sum(Order.total_price).filter(~kept)).label("cancelled"),
            _money(func.sum(Order.total_refunded).filter(kept)).label("refunded"),
            _money(func.sum(price - refunded).filter(kept)).label("net"),
        )
        .where(*_counted_orders(tenant_id, rng))
        .group_by(func.rollup(day))
    )
    by_day: dict[date, Any] = {}
    total = None
    for row in session.execute(stmt):
        if row.day is None:
            total = row
        else:
            by_day[row.day] = row
    return {"total": total, "by_day": by_day}


def _buyers(tenant_id: uuid.UUID, rng: DayRange, *columns: Any) -> Any:
    """Per customer with a counted, non-cancelled order in the range (guest orders left out)."""
    return (
        select(Order.customer_id.label("customer_id"), func.count().label("orders"), *columns)
        .where(*_counted_orders(tenant_id, rng), Order.cancelled_at.is_(None))
        .where(Order.customer_id.is_not(None))
        .group_by(Order.customer_id)
        .subquery("per")
    )


def buyer_counts(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> tuple[int, int]:
    """(customers who bought in the range, those of them who bought twice or more)."""
    per = _buyers(tenant_id, rng)
    stmt = select(func.count(), func.count().filter(per.c.orders >= 2)).select_from(per)
    buyers, repeat = session.execute(stmt).one()
    return buyers, repeat


def top_customers(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> list[Any]:
    """The five customers who spent the most (total - refunded) in the range; ties by id."""
    spent = func.sum(_money(Order.total_price) - _money(Order.total_refunded)).label("spent")
    per = _buyers(tenant_id, rng, spent)
    top = select(per).order_by(per.c.spent.desc(), per.c.customer_id).limit(5).subquery("top")
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


def customer_counts(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> tuple[int, int]:
    """(customers on record now, customers created in the range); tombstoned ones excluded."""
    lo, hi = rng.bounds()
    new = (Customer.created_at >= lo) & (Customer.created_at < hi)
    stmt = select(func.count(), func.count().filter(new)).where(
        Customer.tenant_id == tenant_id, Customer.deleted_at.is_(None)
    )
    total, fresh = session.execute(stmt).one()
    return total, fresh


def checkout_stats(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> Any:
    """Checkouts started in the range, by the status they have now."""
    lo, hi = rng.bounds()
    status, price = Checkout.status, Checkout.total_price
    stmt = select(
        func.count().label("started"),
        func.count().filter(status == "open").label("open"),
        func.count().filter(status == "completed").label("completed"),
        func.count().filter(status == "abandoned").label("abandoned"),
        _money(func.sum(price).filter(status == "abandoned")).label("abandoned_value"),
        func.count().filter(status == "recovered").label("recovered"),
        _money(func.sum(price).filter(status == "recovered")).label("recovered_value"),
    ).where(
        Checkout.tenant_id == tenant_id,
        Checkout.deleted_at.is_(None),
        Checkout.created_at >= lo,
        Checkout.created_at < hi,
    )
    return session.execute(stmt).one()


def cart_stats(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> Any:
    """Carts created in the range: how many, and how many (and how much) are abandoned now."""
    lo, hi = rng.bounds()
    abandoned = Cart.status == "abandoned"
    stmt = select(
        func.count().label("created"),
        func.count().filter(abandoned).label("abandoned"),
        _money(func.sum(Cart.total_price).filter(abandoned)).label("abandoned_value"),
    ).where(
        Cart.tenant_id == tenant_id,
        Cart.deleted_at.is_(None),
        Cart.created_at >= lo,
        Cart.created_at < hi,
    )
    return session.execute(stmt).one()


def shop_currency(session: Session, *, tenant_id: uuid.UUID) -> str | None:
    """Shopify's order `currency` is the shop currency; take the newest order's."""
    stmt = (
        select(Order.currency)
        .where(Order.tenant_id == tenant_id, Order.deleted_at.is_(None))
        .where(Order.currency.is_not(None))
        .where(Order.created_at.is_not(None))
        .order_by(Order.created_at.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def ratio(part: int, whole: int) -> Decimal | None:
    """part / whole to four places, half up; None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_UP)


def shop_stats(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
    """The small parts: customer counts, checkouts, carts and the shop currency."""
    return {
        "customers": customer_counts(session, tenant_id=tenant_id, rng=rng),
        "checkouts": checkout_stats(session, tenant_id=tenant_id, rng=rng),
        "carts": cart_stats(session, tenant_id=tenant_id, rng=rng),
        "currency": shop_currency(session, tenant_id=tenant_id),
    }


# The independent parts of an answer (the API runs them on connections of their own at once).
PARTS: dict[str, Callable[..., Any]] = {
    "orders": order_totals,
    "buyers": buyer_counts,
    "top": top_customers,
    "shop": shop_stats,
    "shopify": sales_report,
}
# The sales report's figures shown beside the insights' own (docs/metrics.md).
SHOPIFY_FIGURES = (
    "gross_sales", "discounts", "returns", "net_sales", "total_sales", "average_order_value",
)  # fmt: skip


def compute_insights(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, shopify: bool = False
) -> dict[str, Any]:
    """Every insight for the range, the parts one after another on one session (the sales
    report's figures beside them with `shopify`)."""
    parts = {
        name: part(session, tenant_id=tenant_id, rng=rng)
        for name, part in PARTS.items()
        if shopify or name != "shopify"
    }
    return assemble(rng, parts)


def assemble(rng: DayRange, parts: Mapping[str, Any]) -> dict[str, Any]:
    """The answer from the parts' results, as plain values (Decimals for money)."""
    orders, shop, shopify = parts["orders"], parts["shop"], parts.get("shopify")
    buyers, repeat = parts["buyers"]
    checkouts, carts = shop["checkouts"], shop["carts"]
    total_customers, new_customers = shop["customers"]
    t = orders["total"]
    count, kept = (t.orders, t.kept) if t else (0, 0)
    net = t.net if t else ZERO
    decided = checkouts.completed + checkouts.abandoned + checkouts.recovered
    ever_abandoned = checkouts.abandoned + checkouts.recovered
    return {
        "range": {"start": rng.start, "end": rng.end, "tz": rng.tz, "days": len(rng.days)},
        "currency": shop["currency"],
        "customers": {"total": total_customers, "new": new_customers},
        "orders": {"count": count, "cancelled": count - kept, "net_count": kept},
        "sales": {
            "gross": t.gross if t else ZERO,
            "cancellations": t.cancelled if t else ZERO,
            "refunds": t.refunded if t else ZERO,
            "net": net,
            "average_order_value": (net / kept).quantize(CENT, ROUND_HALF_UP) if kept else None,
        }
        | ({"shopify": {k: shopify["totals"][k] for k in SHOPIFY_FIGURES}} if shopify else {}),
        "revenue_by_day": [
            _day(d, orders["by_day"].get(d))
            | ({"shopify_net_sales": shopify["days"][i]["net_sales"]} if shopify else {})
            for i, d in enumerate(rng.days)
        ],
        "top_customers": [_top(r) for r in parts["top"]],
        "repeat_purchase": {
            "buyers": buyers,
            "repeat_buyers": repeat,
            "rate": ratio(repeat, buyers),
        },
        "checkouts": {
            "started": checkouts.started,
            "open": checkouts.open,
            "completed": checkouts.completed,
            "abandoned": checkouts.abandoned,
            "abandoned_value": checkouts.abandoned_value,
            "recovered": checkouts.recovered,
            "recovered_value": checkouts.recovered_value,
            "abandonment_rate": ratio(ever_abandoned, decided),
            "recovery_rate": ratio(checkouts.recovered, ever_abandoned),
        },
        "carts": {
            "created": carts.created,
            "abandoned": carts.abandoned,
            "abandoned_value": carts.abandoned_value,
        },
    }


def _day(day: date, row: Any) -> dict[str, Any]:
    if row is None:
        return {"date": day, "orders": 0, "gross_sales": ZERO, "net_sales": ZERO}
    return {"date": day, "orders": row.orders, "gross_sales": row.gross, "net_sales": row.net}


def _top(row: Any) -> dict[str, Any]:
    name = " ".join(p for p in (row.first_name, row.last_name) if p) or None
    return {
        "id": row.customer_id,
        "email": row.email,
        "name": name,
        "orders": row.orders,
        "spent": row.spent,
    }
