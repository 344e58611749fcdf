"""The products report: units and money of product sales by product, variant, product type or
vendor, with gross profit where unit costs are known, the top and trending products, and
sell-through from inventory.

docs/metrics.md ("Products") defines every figure. Sales are dated as the sales report dates
them: a line's sale on the day its order was placed, its return on the day a refund was
processed, and what is left of it on the day its order was cancelled; test and deleted orders
and gift cards are left out. The figures come from the daily product rollup
(`product_sales_daily`, kept by the write path) when the range's time zone is the one the
rollup is bucketed in, and otherwise from the rows, with the same definitions: both give one
row per (day, channel, customer type, product, variant), which one statement groups.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.insights import shop_currency
from dashboard_api.queries.product_lines import rollup_source, rows_source
from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import Segment, orders_condition

ZERO = Decimal(0)
CENT = Decimal("0.01")
GROUPS = ("product", "variant", "product_type", "vendor")
TOP = 5
_SUMS = ("units_sold", "units_returned", "gross_sales", "discounts", "returns", "cost",
         "net_with_cost", "units_with_cost")  # fmt: skip

# Per grouping: the selected key and label columns, and the same expressions to group by.
_KEYS = {
    "product": (
        "e.product_id, p.title, p.product_type, p.vendor",
        "e.product_id, p.title, p.product_type, p.vendor",
    ),
    "variant": (
        "e.product_id, e.variant_id, p.title, v.title AS variant_title, v.sku",
        "e.product_id, e.variant_id, p.title, v.title, v.sku",
    ),
    "product_type": (
        "COALESCE(p.product_type, '') AS product_type",
        "COALESCE(p.product_type, '')",
    ),
    "vendor": ("COALESCE(p.vendor, '') AS vendor", "COALESCE(p.vendor, '')"),
}

_SUMMED = """
SUM(e.units_sold) AS units_sold, SUM(e.units_returned) AS units_returned,
SUM(e.gross_sales) AS gross_sales, SUM(e.discounts) AS discounts, SUM(e.returns) AS returns,
SUM(e.cost) AS cost, SUM(e.net_with_cost) AS net_with_cost,
SUM(e.units_with_cost) AS units_with_cost
"""
# Summed per variant first (a few thousand rows at most), then labelled and grouped.
_GROUPED = f"""
WITH source AS ({{source}}),
summed AS (
    SELECT e.current, e.product_id, e.variant_id, {_SUMMED}
    FROM source AS e WHERE true {{dims}}
    GROUP BY e.current, e.product_id, e.variant_id
)
SELECT {{columns}}, e.current, {_SUMMED}
FROM summed AS e
LEFT JOIN products AS p ON p.tenant_id = :tenant AND p.shopify_id = e.product_id
LEFT JOIN product_variants AS v ON v.tenant_id = :tenant AND v.shopify_id = e.variant_id
WHERE true {{labels}}
GROUP BY {{keys}}, e.current
"""  # noqa: S608 (built from constants only)

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


def rollup_zone(session: Session, *, tenant_id: uuid.UUID) -> str | None:
    """The zone the tenant's rollups are bucketed in; None before they are built."""
    return session.scalar(
        text("SELECT tz FROM rollup_zones WHERE tenant_id = :tenant"), {"tenant": tenant_id}
    )


def products_report(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    rng: DayRange,
    group_by: str = "product",
    filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The range's figures per group, the totals, the top and trending groups.

    The previous period (as many days, just before) is read in the same statement, for the
    trend."""
    filters = filters or {}
    length = (rng.end - rng.start).days + 1
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "tz": rng.tz,
        "first_day": (rng.start - timedelta(days=length)).isoformat(),
        "split_day": rng.start.isoformat(),
        "after_day": (rng.end + timedelta(days=1)).isoformat(),
    }
    # The customers of an RFM segment or with a tag (customer_analytics): from the rows only.
    customers = Segment(rfm_segment=filters.get("segment"), tag=filters.get("tag"))
    narrowed = orders_condition("c", customers)
    params |= {"rfm_segment": customers.rfm_segment, "tag": customers.tag}
    from_rollup = not narrowed and rollup_zone(session, tenant_id=tenant_id) == rng.tz
    dims, labels = [], []
    for name in ("channel", "customer_type"):
        if filters.get(name) is not None:
            dims.append(f"AND lower(e.{name}) = lower(:{name})")
            params[name] = filters[name]
    for name in ("product_type", "vendor"):
        if filters.get(name) is not None:
            labels.append(f"AND lower(p.{name}) = lower(:{name})")
            params[name] = filters[name]
    columns, keys = _KEYS[group_by]
    if from_rollup:
        before = rng.start - timedelta(days=length)
        after = rng.end + timedelta(days=1)
        source = rollup_source(params, [(before, rng.start, False), (rng.start, after, True)])
    else:
        source = rows_source(narrowed)
    sql = _GROUPED.format(
        source=source, dims=" ".join(dims), labels=" ".join(labels), columns=columns, keys=keys
    )
    current: dict[tuple[Any, ...], dict[str, Any]] = {}
    previous: dict[tuple[Any, ...], Decimal] = {}
    for row in session.execute(text(sql), params):
        values = dict(row._mapping)
        key = _key(group_by, values)
        if values["current"]:
            current[key] = values
        else:
            previous[key] = _net(values)
    items = [_item(group_by, values, previous.get(key)) for key, values in current.items()]
    if group_by in ("product", "variant"):
        _attach_sell_through(session, tenant_id, group_by, items)
    items.sort(key=lambda i: (-i["sums"]["net"], -i["net_units"], str(i["key"])))
    totals = figures({name: sum((i["sums"][name] for i in items), ZERO) for name in _SUMS})
    return {
        "start": rng.start,
        "end": rng.end,
        "tz": rng.tz,
        "group_by": group_by,
        "source": "rollup" if from_rollup else "rows",
        "currency": shop_currency(session, tenant_id=tenant_id),
        "totals": totals,
        "items": items,
        "top_by_net_sales": items[:TOP],
        "top_by_units": sorted(items, key=lambda i: (-i["net_units"], -i["net_sales"]))[:TOP],
        "trending": trending(items),
    }


def _key(group_by: str, values: dict[str, Any]) -> tuple[Any, ...]:
    if group_by == "variant":
        return (values["product_id"], values["variant_id"])
    return (values[{"product": "product_id"}.get(group_by, group_by)],)


def _net(values: dict[str, Any]) -> Decimal:
    return (
        Decimal(values["gross_sales"] or 0) + (values["discounts"] or 0) + (values["returns"] or 0)
    )


def _item(group_by: str, values: dict[str, Any], before: Decimal | None) -> dict[str, Any]:
    sums = {name: Decimal(values[name] or 0) for name in _SUMS}
    exact_net = sums["gross_sales"] + sums["discounts"] + sums["returns"]
    item: dict[str, Any] = {"key": _key(group_by, values), **figures(sums)}
    # The exact sums, for totals and comparisons (the figures are rounded).
    item["sums"] = sums | {"net": exact_net, "previous_net": before or ZERO}
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


def trending(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups whose net sales grew most against the previous period, by the amount."""

    def change(item: dict[str, Any]) -> Decimal:
        return Decimal(item["sums"]["net"] - item["sums"]["previous_net"])

    grew = [i for i in items if change(i) > 0]
    grew.sort(key=lambda i: (-change(i), str(i["key"])))
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
