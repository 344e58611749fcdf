"""Insights for one tenant and one range of local days, in exact money: the order sums from the
daily rollups (models/rollups.py), the buyers (dashboard_api/queries/buyers.py), customers,
checkouts and carts from their columns kept in memory (dashboard_api/queries/columns.py).

Every definition here is written down in the README ("Metric definitions"); keep them in step.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard_api.queries import columns
from dashboard_api.queries.buyers import (
    buyers,
    counted_orders,
    money,
    placed_at,
)
from dashboard_api.queries.columns import Table, micros, units
from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import (
    ALL,
    JsonRows,
    Segment,
    exact_money,
    figures_by_day,
    rollup_zone,
    sales_report,
)
from models import Order

ZERO = Decimal(0)
CENT = Decimal("0.01")
RATE = Decimal("0.0001")


@dataclass(frozen=True)
class _Totals:
    orders: int
    kept: int
    gross: Decimal
    cancelled: Decimal
    refunded: Decimal
    net: Decimal


def order_totals(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> dict[str, Any]:
    """Per local day and for the whole range: counts, gross, cancellations, refunds, net.

    From the daily rollups when they are bucketed in the range's zone, else from the orders."""
    if rollup_zone(session, tenant_id=tenant_id) == rng.tz:
        total, days = figures_by_day(
            session,
            tenant_id=tenant_id,
            rng=rng,
            segment=segment,
            figures=_ORDER_FIGURES,
            zero=_NO_ORDERS,
            on_days=("orders", "gross_sales", "net_sales"),
        )
        if total is None or not total["orders"]:
            return {"total": None, "days": days}
        return {
            "total": _Totals(
                int(total["orders"]),
                int(total["kept_orders"]),
                *(Decimal(total[n]) for n in ("gross_sales", "cancelled", "refunded", "net_sales")),
            ),
            "days": days,
        }
    return _order_totals_from_rows(session, tenant_id, rng, segment)


# The insights' order sums of the rollups (models/rollups.py), by the day orders were placed,
# exact money as text.
_ORDER_FIGURES = {
    "orders": "CAST(COALESCE(SUM(orders), 0) AS bigint)",
    "kept_orders": "CAST(COALESCE(SUM(kept_orders), 0) AS bigint)",
    "gross_sales": exact_money("COALESCE(SUM(total_price), 0)"),
    "cancelled": exact_money("COALESCE(SUM(cancelled_price), 0)"),
    "refunded": exact_money("COALESCE(SUM(refunded_price), 0)"),
    "net_sales": exact_money("COALESCE(SUM(net_price), 0)"),
}
_NO_ORDERS = {name: "0.00" for name in _ORDER_FIGURES} | {"orders": 0, "kept_orders": 0}


def _order_totals_from_rows(
    session: Session, tenant_id: uuid.UUID, rng: DayRange, segment: Segment
) -> dict[str, Any]:
    kept = Order.cancelled_at.is_(None)
    price, refunded = money(Order.total_price), money(Order.total_refunded)
    day = rng.local_day(placed_at()).label("day")
    stmt = (
        select(
            day,
            func.count().label("orders"),
            func.count().filter(kept).label("kept"),
            # SUM skips NULLs, so only the difference needs per-row COALESCE.
            money(func.sum(Order.total_price)).label("gross"),
            money(func.sum(Order.total_price).filter(~kept)).label("cancelled"),
            money(func.sum(Order.total_refunded).filter(kept)).label("refunded"),
            money(func.sum(price - refunded).filter(kept)).label("net"),
        )
        .where(*counted_orders(tenant_id, rng, segment))
        .group_by(func.rollup(day))
    )
    by_day: dict[date, Any] = {}
    total = None
    for row in session.execute(stmt):
        if row.day is None:
            total = row
        else:
            by_day[row.day] = row
    return {"total": total, "days": [_day(d, by_day.get(d)) for d in rng.days]}


ALIVE = "CASE WHEN t.deleted_at IS NULL THEN 1 ELSE 0 END"
# Per customer: when it was created, and whether it is on record (not tombstoned).
CUSTOMERS = Table(
    "customers",
    "t.shopify_id",
    (
        ("created", micros("t.created_at")),
        ("alive", "CASE WHEN t.deleted_at IS NULL THEN 1 ELSE 0 END"),
    ),
)
STATUSES = ("open", "completed", "abandoned", "recovered")
# Per checkout and cart: when it was created, its status now (an index into STATUSES, -1 for
# any other), its total price and whether it is on record.
_STARTED = (
    ("created", micros("t.created_at")),
    (
        "status",
        "CASE t.status "
        + " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(STATUSES))
        + " ELSE -1 END",
    ),
    ("price", units("t.total_price")),
    ("alive", ALIVE),
)
CHECKOUTS = Table("checkouts", "t.row_id", _STARTED, small=("status", "alive"))
CARTS = Table("carts", "t.row_id", _STARTED, small=("status", "alive"))


def customer_counts(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> tuple[int, int]:
    """(customers on record now, customers created in the range); tombstoned ones excluded."""
    lo, hi = rng.micros(session)
    with columns.reading(session, CUSTOMERS, tenant_id) as customers:
        alive = customers["alive"] == 1
        created = customers["created"]
        fresh = alive & (created >= lo) & (created < hi)
        return int(np.count_nonzero(alive)), int(np.count_nonzero(fresh))


@dataclass(frozen=True)
class _Started:
    """Checkouts or carts created in a range: how many are in each status now, and the value
    of those in each."""

    total: int
    counts: tuple[int, ...]
    values: tuple[Decimal, ...]

    def count(self, status: str) -> int:
        return self.counts[STATUSES.index(status)]

    def value(self, status: str) -> Decimal:
        return self.values[STATUSES.index(status)]


def _started(session: Session, table: Table, tenant_id: uuid.UUID, rng: DayRange) -> _Started:
    lo, hi = rng.micros(session)
    with columns.reading(session, table, tenant_id) as rows:
        created = rows["created"]
        chosen = (rows["alive"] == 1) & (created >= lo) & (created < hi)
        status, price = rows["status"][chosen], rows["price"][chosen]
        counts = [int(np.count_nonzero(status == i)) for i in range(len(STATUSES))]
        # int64 sums: exact up to 9.2e14 in shop money.
        values = [Decimal(int(price[status == i].sum())).scaleb(-4) for i in range(len(STATUSES))]
        return _Started(len(status), tuple(counts), tuple(values))


def checkout_stats(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> Any:
    """Checkouts started in the range, by the status they have now."""
    got = _started(session, CHECKOUTS, tenant_id, rng)
    return SimpleNamespace(
        started=got.total,
        open=got.count("open"),
        completed=got.count("completed"),
        abandoned=got.count("abandoned"),
        abandoned_value=got.value("abandoned"),
        recovered=got.count("recovered"),
        recovered_value=got.value("recovered"),
    )


def cart_stats(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> Any:
    """Carts created in the range: how many, and how many (and how much) are abandoned now."""
    got = _started(session, CARTS, tenant_id, rng)
    return SimpleNamespace(
        created=got.total,
        abandoned=got.count("abandoned"),
        abandoned_value=got.value("abandoned"),
    )


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


def checkout_rates(*, completed: int, abandoned: int, recovered: int) -> dict[str, Any]:
    """Abandonment and recovery rates of checkouts by their status (docs/metrics.md)."""
    ever_abandoned = abandoned + recovered
    return {
        "abandonment_rate": ratio(ever_abandoned, completed + ever_abandoned),
        "recovery_rate": ratio(recovered, ever_abandoned),
    }


def shop_stats(
    session: Session, *, tenant_id: uuid.UUID, rng: DayRange, segment: Segment = ALL
) -> dict[str, Any]:
    """The small parts: customer counts, checkouts, carts and the shop currency (the shop's
    whole, whatever the segment: a checkout has no channel or customer type of its own)."""
    return {
        "customers": customer_counts(session, tenant_id=tenant_id, rng=rng),
        "checkouts": checkout_stats(session, tenant_id=tenant_id, rng=rng),
        "carts": cart_stats(session, tenant_id=tenant_id, rng=rng),
        "currency": shop_currency(session, tenant_id=tenant_id),
    }


# The independent parts of an answer (the API runs them on connections of their own at once).
PARTS: dict[str, Callable[..., Any]] = {
    "orders": order_totals,
    "buyers": buyers,
    "shop": shop_stats,
    "shopify": sales_report,
}
# The sales report's figures shown beside the insights' own (docs/metrics.md).
SHOPIFY_FIGURES = (
    "gross_sales", "discounts", "returns", "net_sales", "total_sales", "average_order_value",
)  # fmt: skip


def compute_insights(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    rng: DayRange,
    shopify: bool = False,
    segment: Segment = ALL,
) -> dict[str, Any]:
    """Every insight for the range, the parts one after another on one session (the sales
    report's figures beside them with `shopify`)."""
    parts = {
        name: part(session, tenant_id=tenant_id, rng=rng, segment=segment)
        for name, part in PARTS.items()
        if shopify or name != "shopify"
    }
    return assemble(rng, parts)


def assemble(rng: DayRange, parts: Mapping[str, Any]) -> dict[str, Any]:
    """The answer from the parts' results, as plain values (Decimals for money)."""
    orders, shop, shopify = parts["orders"], parts["shop"], parts.get("shopify")
    bought = parts["buyers"]
    buyers, repeat = bought.buyers, bought.repeat
    checkouts, carts = shop["checkouts"], shop["carts"]
    total_customers, new_customers = shop["customers"]
    t = orders["total"]
    count, kept = (t.orders, t.kept) if t else (0, 0)
    net = t.net if t else ZERO
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
        "revenue_by_day": _with_shopify(orders["days"], shopify),
        "top_customers": [_top(r) for r in bought.top],
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
        }
        | checkout_rates(
            completed=checkouts.completed,
            abandoned=checkouts.abandoned,
            recovered=checkouts.recovered,
        ),
        "carts": {
            "created": carts.created,
            "abandoned": carts.abandoned,
            "abandoned_value": carts.abandoned_value,
        },
    }


def _with_shopify(days: list[dict[str, Any]], shopify: dict[str, Any] | None) -> Any:
    """The days, each with the sales report's net sales beside when asked for."""
    if shopify is None:
        return days
    pairs = zip(days, shopify["days"], strict=True)
    merged = [d | {"shopify_net_sales": s["net_sales"]} for d, s in pairs]
    return JsonRows(merged) if isinstance(days, JsonRows) else merged


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
