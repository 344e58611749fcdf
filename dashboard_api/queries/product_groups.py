"""The groups of the products report (one per product, variant, product type or vendor) with
their exact sums in the range and their net sales in the previous period: summed from the
daily product rollup in memory (`from_rollup`), or from the orders, their lines and refunds
(`from_rows`, for a zone the rollup is not bucketed in or a customer segment). Both label
and filter the groups the same way, so the report is the same either way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.product_columns import SUMS as ROLLUP_SUMS
from dashboard_api.queries.product_columns import summed
from dashboard_api.queries.product_lines import rows_source
from dashboard_api.queries.sales import Segment, orders_condition

ZERO = Decimal(0)
SUMS = tuple(ROLLUP_SUMS)
LABEL_FILTERS = ("product_type", "vendor")


@dataclass
class Group:
    """One row of the report before it is shown: its key and labels, its exact sums in the
    range, and its net sales in the previous period (None: no sales in it)."""

    key: tuple[Any, ...]
    labels: dict[str, Any]
    sums: dict[str, Decimal]
    previous: Decimal | None = None

    @property
    def net(self) -> Decimal:
        return self.sums["gross_sales"] + self.sums["discounts"] + self.sums["returns"]

    @property
    def net_units(self) -> Decimal:
        return self.sums["units_sold"] - self.sums["units_returned"]


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
_LABELS = {
    "product": ("product_id", "title", "product_type", "vendor"),
    "variant": ("product_id", "variant_id", "title", "variant_title", "sku"),
    "product_type": ("product_type",),
    "vendor": ("vendor",),
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
_PRODUCT_LABELS = """
SELECT shopify_id, title, product_type, vendor FROM products
WHERE tenant_id = :tenant AND shopify_id = ANY(:ids)
"""
_VARIANT_LABELS = """
SELECT shopify_id, title, sku FROM product_variants
WHERE tenant_id = :tenant AND shopify_id = ANY(:ids)
"""


def from_rows(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    tz: str,
    periods: tuple[date, date, date],
    group_by: str,
    filters: dict[str, Any],
    customers: Segment,
) -> list[Group]:
    """The groups computed from the orders of `customers`, their lines and refunds."""
    before, split, after = periods
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "tz": tz,
        "first_day": before.isoformat(),
        "split_day": split.isoformat(),
        "after_day": after.isoformat(),
        "rfm_segment": customers.rfm_segment,
        "tag": customers.tag,
    }
    dims, labels = [], []
    for name in ("channel", "customer_type"):
        if filters.get(name) is not None:
            dims.append(f"AND lower(e.{name}) = lower(:{name})")
            params[name] = filters[name]
    for name in LABEL_FILTERS:
        if filters.get(name) is not None:
            labels.append(f"AND lower(p.{name}) = lower(:{name})")
            params[name] = filters[name]
    columns, keys = _KEYS[group_by]
    sql = _GROUPED.format(
        source=rows_source(orders_condition("c", customers)),
        dims=" ".join(dims),
        labels=" ".join(labels),
        columns=columns,
        keys=keys,
    )
    current: dict[tuple[Any, ...], Group] = {}
    previous: dict[tuple[Any, ...], Decimal] = {}
    for row in session.execute(text(sql), params):
        values = dict(row._mapping)
        key = _key(group_by, values)
        sums = {name: Decimal(values[name] or 0) for name in SUMS}
        if values["current"]:
            current[key] = Group(key, {name: values[name] for name in _LABELS[group_by]}, sums)
        else:
            previous[key] = sums["gross_sales"] + sums["discounts"] + sums["returns"]
    for key, group in current.items():
        group.previous = previous.get(key)
    return list(current.values())


def _key(group_by: str, values: dict[str, Any]) -> tuple[Any, ...]:
    if group_by == "variant":
        return (values["product_id"], values["variant_id"])
    return (values[{"product": "product_id"}.get(group_by, group_by)],)


def from_rollup(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    periods: tuple[date, date, date],
    group_by: str,
    filters: dict[str, Any],
) -> list[Group] | None:
    """The groups summed from the daily product rollup in memory, labelled as `from_rows`
    labels them; None when it cannot say (the caller reads the rows)."""
    by_variant = group_by == "variant"
    found = summed(
        session,
        tenant_id,
        periods=periods,
        by_variant=by_variant,
        channel=filters.get("channel"),
        customer_type=filters.get("customer_type"),
    )
    if found is None:
        return None
    sql, params = _PRODUCT_LABELS, {"tenant": tenant_id, "ids": sorted(set(found.products))}
    for name in LABEL_FILTERS:
        if filters.get(name) is not None:
            sql += f" AND lower({name}) = lower(:{name})"
            params[name] = filters[name]
    products = {r.shopify_id: r for r in session.execute(text(sql), params)}
    filtered = any(filters.get(name) is not None for name in LABEL_FILTERS)
    variants = {}
    if by_variant:
        ids = sorted(v for v in found.ids if v > 0)
        rows = session.execute(text(_VARIANT_LABELS), {"tenant": tenant_id, "ids": ids})
        variants = {r.shopify_id: r for r in rows}
    groups: dict[tuple[Any, ...], Group] = {}
    previous: dict[tuple[Any, ...], Decimal] = {}
    for i, found_id in enumerate(found.ids):
        product = products.get(found.products[i])
        if product is None and filtered:
            continue
        key, labels = _labelled(group_by, found.products[i], found_id, product, variants)
        previous[key] = previous.get(key, ZERO) + found.previous_net[i]
        sums = found.current[i]
        if sums is None:
            continue
        if key in groups:
            groups[key].sums = {name: groups[key].sums[name] + sums[name] for name in SUMS}
        else:
            groups[key] = Group(key, labels, sums)
    for key, group in groups.items():
        group.previous = previous[key] or None
    return list(groups.values())


def _labelled(
    group_by: str, product_id: int, found_id: int, product: Any, variants: dict[int, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The key and labels of a product's (or variant's) group, as `from_rows` gives them."""
    title = product.title if product else None
    product_type = product.product_type if product else None
    vendor = product.vendor if product else None
    if group_by == "product":
        labels = {"product_id": product_id, "title": title, "product_type": product_type,
                  "vendor": vendor}  # fmt: skip
        return (product_id,), labels
    if group_by == "variant":
        variant_id = max(found_id, 0)  # minus the product's id: a line without a variant
        variant = variants.get(variant_id)
        labels = {"product_id": product_id, "variant_id": variant_id, "title": title,
                  "variant_title": variant.title if variant else None,
                  "sku": variant.sku if variant else None}  # fmt: skip
        return (product_id, variant_id), labels
    value = (product_type if group_by == "product_type" else vendor) or ""
    return (value,), {group_by: value}
