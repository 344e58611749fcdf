"""The daily product rollup of a tenant, kept in memory and summed per group over any range.

`product_sales_daily` has one row per (day, channel, customer type, product, variant); over
three years a shop with 500 variants has about half a million. Summing them in SQL for every
request takes longer than a report may, so each dashboard process keeps them as integer columns
(dashboard_api/queries/columns.py: money in ten-thousandths, current at each read) and adds
them up per product or variant with numpy, exactly, in integers. The write path never deletes a
row of this rollup (a row left all zero counts as none); a rebuild does, and gives the tenant's
`rollup_zones` row a new `built_at`, which makes the next read a full one (migration 0018).

A channel is kept as a 64-bit hash of its lower-cased name (the report's filter is
case-insensitive), a variant as its id (or minus its product's id for a line without one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from dashboard_api.queries.columns import Columns, Table, reading, units

EPOCH = date(1970, 1, 1)
CUSTOMER_TYPES = {"new": 0, "returning": 1, "guest": 2}
# The report's sums (dashboard_api/queries/products.py) and the rollup column of each.
SUMS = {
    "units_sold": "t.units_sold",
    "units_returned": "t.units_returned",
    "gross_sales": units("t.gross_sales"),
    "discounts": units("t.discounts"),
    "returns": units("t.returns"),
    "cost": units("t.cost_of_goods_sold"),
    "net_with_cost": units("t.net_sales_with_cost_recorded"),
    "units_with_cost": "t.units_with_cost",
}
MONEY = ("gross_sales", "discounts", "returns", "cost", "net_with_cost")

PRODUCT_ROLLUP = Table(
    "product_sales_daily",
    "t.row_id",
    (
        ("day", "t.day - DATE '1970-01-01'"),
        ("channel", "hashtextextended(lower(t.channel), 0)"),
        (
            "customer_type",
            "CASE t.customer_type WHEN 'new' THEN 0 WHEN 'returning' THEN 1 ELSE 2 END",
        ),
        ("product_id", "t.product_id"),
        ("variant", "CASE WHEN t.variant_id <> 0 THEN t.variant_id ELSE -t.product_id END"),
        *SUMS.items(),
    ),
    coded=("product_id", "variant"),
    small=("customer_type",),
    generation="SELECT CAST(EXTRACT(EPOCH FROM z.built_at) * 1000000 AS bigint) "
    "FROM rollup_zones AS z WHERE z.tenant_id = :tenant",
)
_CHANNEL = text("SELECT hashtextextended(lower(:channel), 0)")


@dataclass
class Summed:
    """Per product (or variant) with sales in either period: its id, its product's id, the
    current period's sums as exact Decimals (None: no sales in it) and the previous period's
    net sales."""

    ids: list[int]
    products: list[int]
    current: list[dict[str, Decimal] | None]
    previous_net: list[Decimal]


def summed(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    periods: tuple[date, date, date],
    by_variant: bool,
    channel: str | None = None,
    customer_type: str | None = None,
) -> Summed | None:
    """The sums of each product (or variant) in [split, after), and its net sales in
    [before, split), of the days `periods` = (before, split, after). None when a variant
    appears under two products (not seen in Shopify's data), which the caller reads from the
    rows instead."""
    lo, split, hi = ((day - EPOCH).days for day in periods)
    wanted = None if channel is None else session.scalar(_CHANNEL, {"channel": channel})
    with reading(session, PRODUCT_ROLLUP, tenant_id) as kept:
        day = kept["day"]
        rows = (day >= lo) & (day < hi)
        if wanted is not None:
            rows &= kept["channel"] == wanted
        if customer_type is not None:
            rows &= kept["customer_type"] == CUSTOMER_TYPES[customer_type]
        name = "variant" if by_variant else "product_id"
        code, keys = kept[f"{name}_code"], kept.code_keys(name)
        n = len(keys)
        products = kept.derived("products_of_variants", _products_of) if by_variant else keys
        if products is None:
            return None
        # Group i's current rows go to slot i, its previous ones to n + i, the rest to 2n.
        slot = code + n * (day < split)
        slot[~rows] = 2 * n
        sums = {}
        for column in SUMS:
            out = np.zeros(2 * n + 1, dtype=np.int64)
            np.add.at(out, slot, kept[column])
            sums[column] = out
    # A row left all zero counts as none, so a group is in a period when a sum is not zero.
    present = np.zeros(2 * n + 1, dtype=bool)
    for column in SUMS:
        present |= sums[column] != 0
    current = present[:n]
    chosen = np.flatnonzero(current | present[n : 2 * n])
    exact = {column: _decimals(sums[column][chosen], money=column in MONEY) for column in SUMS}
    net = sums["gross_sales"] + sums["discounts"] + sums["returns"]
    return Summed(
        ids=keys[chosen].tolist(),
        products=products[chosen].tolist(),
        current=[
            {column: exact[column][j] for column in SUMS} if current[i] else None
            for j, i in enumerate(chosen.tolist())
        ],
        previous_net=_decimals(net[n + chosen], money=True),
    )


def _products_of(kept: Columns) -> np.ndarray | None:
    """The product of each variant code, or None if a variant has two."""
    code, product = kept["variant_code"], kept["product_id"]
    of = np.zeros(len(kept.code_keys("variant")), dtype=np.int64)
    of[code] = product
    return of if bool((of[code] == product).all()) else None


def _decimals(values: np.ndarray, *, money: bool) -> list[Decimal]:
    """Exact Decimals of integer sums; money is kept in ten-thousandths."""
    if money:
        return [Decimal(v).scaleb(-4) for v in values.tolist()]
    return [Decimal(v) for v in values.tolist()]


def periods_of(start: date, end: date) -> tuple[date, date, date]:
    """(first day of the previous period, first of the range, the day after it)."""
    length = (end - start).days + 1
    return start - timedelta(days=length), start, end + timedelta(days=1)
