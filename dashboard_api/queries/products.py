"""The products report: units and money of product sales by product, variant, product type or
vendor, with gross profit where unit costs are known, the top and trending products, and
sell-through from inventory.

docs/metrics.md ("Products") defines every figure. Sales are dated as the sales report dates
them: a line's sale on the day its order was placed, its return on the day a refund was
processed, and what is left of it on the day its order was cancelled; test and deleted orders
and gift cards are left out. The groups come from the daily product rollup
(`product_sales_daily`, kept by the write path, summed in memory) when the range's time zone is
the one the rollup is bucketed in, and otherwise from the rows, with the same definitions
(dashboard_api/queries/product_groups.py).
"""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.insights import shop_currency
from dashboard_api.queries.product_columns import periods_of
from dashboard_api.queries.product_groups import SUMS, ZERO, Group, from_rollup, from_rows
from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import Segment, orders_condition, rollup_zone

CENT = Decimal("0.01")
GROUPS = ("product", "variant", "product_type", "vendor")
TOP = 5

# Units available now across locations, per variant (None: no level is tracked).
_AVAILABLE = """
SELECT v.product_id, v.shopify_id AS variant_id, SUM(il.available) AS available
FROM product_variants AS v
JOIN inventory_levels AS il
    ON il.tenant_id = :tenant AND il.inventory_item_id = v.inventory_item_id
   AND il.deleted_at IS NULL
WHERE v.tenant_id = :tenant AND v.shopify_id = ANY(:variants)
GROUP BY v.product_id, v.shopify_id
"""


def products_report(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    rng: DayRange,
    group_by: str = "product",
    filters: dict[str, Any] | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    """The range's figures per group (the first `limit` in `items`, all when None), the
    totals, the top and trending groups.

    The previous period (as many days, just before) is read too, for the trend."""
    filters = filters or {}
    periods = periods_of(rng.start, rng.end)
    # The customers of an RFM segment or with a tag (customer_analytics): from the rows only.
    customers = Segment(rfm_segment=filters.get("segment"), tag=filters.get("tag"))
    groups = None
    if not orders_condition("c", customers) and rollup_zone(session, tenant_id=tenant_id) == rng.tz:
        groups = from_rollup(
            session, tenant_id, periods=periods, group_by=group_by, filters=filters
        )
    source = "rollup" if groups is not None else "rows"
    if groups is None:
        groups = from_rows(
            session, tenant_id, tz=rng.tz, periods=periods, group_by=group_by,
            filters=filters, customers=customers,
        )  # fmt: skip
    groups.sort(key=lambda g: (-g.net, -g.net_units, str(g.key)))
    totals = figures({name: sum((g.sums[name] for g in groups), ZERO) for name in SUMS})
    made: dict[int, dict[str, Any]] = {}

    def shown(chosen: list[Group]) -> list[dict[str, Any]]:
        for g in chosen:
            if id(g) not in made:
                made[id(g)] = _item(group_by, g)
        return [made[id(g)] for g in chosen]

    out = {
        "start": rng.start,
        "end": rng.end,
        "tz": rng.tz,
        "group_by": group_by,
        "source": source,
        "currency": shop_currency(session, tenant_id=tenant_id),
        "totals": totals,
        "item_count": len(groups),
        "items": shown(groups if limit is None else groups[:limit]),
        "top_by_net_sales": shown(groups[:TOP]),
        "top_by_units": shown(sorted(groups, key=lambda g: (-g.net_units, -cents(g.net)))[:TOP]),
        "trending": shown(trending(groups)),
    }
    if group_by in ("product", "variant"):
        _attach_sell_through(session, tenant_id, group_by, list(made.values()))
    return out


def _item(group_by: str, group: Group) -> dict[str, Any]:
    before, exact_net = group.previous, group.net
    item: dict[str, Any] = {"key": group.key, **figures(group.sums)}
    values = group.labels
    if group_by in ("product", "variant"):
        item["product_id"] = values["product_id"] or None
        item["title"] = values["title"]
        if group_by == "product":
            item["product_type"], item["vendor"] = values["product_type"], values["vendor"]
        else:
            item["variant_id"] = values["variant_id"] or None
            item["variant_title"], item["sku"] = values["variant_title"], values["sku"]
    else:
        item[group_by] = values[group_by] or None
    item["previous_net_sales"] = cents(before or ZERO)
    item["growth"] = rate(exact_net - (before or ZERO), abs(before)) if before else None
    return item


def figures(sums: dict[str, Decimal]) -> dict[str, Any]:
    """A group's figures from its exact sums, money rounded half up to the cent at the end."""
    units_sold, units_returned = int(sums["units_sold"]), int(sums["units_returned"])
    net_units = units_sold - units_returned
    net = sums["gross_sales"] + sums["discounts"] + sums["returns"]
    return {
        "units_sold": units_sold,
        "units_returned": units_returned,
        "net_units": net_units,
        "gross_sales": cents(sums["gross_sales"]),
        "discounts": cents(sums["discounts"]),
        "returns": cents(sums["returns"]),
        "net_sales": cents(net),
        "refund_rate": rate(Decimal(units_returned), Decimal(units_sold)),
        "cost_of_goods_sold": cents(sums["cost"]),
        "net_sales_with_cost_recorded": cents(sums["net_with_cost"]),
        "gross_profit": cents(sums["net_with_cost"] - sums["cost"]),
        "units_with_cost": int(sums["units_with_cost"]),
        "cost_coverage": rate(sums["units_with_cost"], Decimal(net_units)),
    }


def trending(groups: list[Group]) -> list[Group]:
    """The groups whose net sales grew most against the previous period, by the amount."""

    def change(group: Group) -> Decimal:
        return group.net - (group.previous or ZERO)

    grew = [g for g in groups if change(g) > 0]
    grew.sort(key=lambda g: (-change(g), str(g.key)))
    return grew[:TOP]


def _attach_sell_through(
    session: Session, tenant_id: uuid.UUID, group_by: str, items: list[dict[str, Any]]
) -> None:
    """Sell-through: net units sold / (net units sold + units available now)."""
    variants: dict[int, int | None] = {}
    products: dict[int, int | None] = {}
    ids = [i["variant_id"] for i in items if i.get("variant_id")] if group_by == "variant" else None
    if ids is None:
        product_ids = [i["product_id"] for i in items if i.get("product_id")]
        rows = session.execute(
            text(_AVAILABLE.replace("v.shopify_id = ANY(:variants)", "v.product_id = ANY(:ids)")),
            {"tenant": tenant_id, "ids": product_ids},
        )
    else:
        rows = session.execute(text(_AVAILABLE), {"tenant": tenant_id, "variants": ids})
    for row in rows:
        variants[row.variant_id] = row.available
        if row.available is not None:
            products[row.product_id] = (products.get(row.product_id) or 0) + row.available
    for item in items:
        found = variants if group_by == "variant" else products
        key = item.get("variant_id") if group_by == "variant" else item.get("product_id")
        available = found.get(key) if key else None
        item["available"] = available
        denominator = item["net_units"] + available if available is not None else 0
        item["sell_through"] = (
            rate(Decimal(item["net_units"]), Decimal(denominator)) if denominator > 0 else None
        )


def rate(part: Decimal, whole: Decimal) -> float | None:
    """part / whole with four places; None when there is nothing to divide by."""
    if not whole:
        return None
    return float((part / whole).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def cents(amount: Decimal) -> Decimal:
    return (amount + ZERO).quantize(CENT, ROUND_HALF_UP)
