"""Keeping the daily rollups (models/rollups.py) equal to a recompute from the rows.

Every write of orders, refunds, variants and unit costs goes through `write_rows`, which asks
`Touched.before` what the entities it is about to write looked like, and `Touched.apply` after
writing them. Between the two, the touched orders' share of the rollups (every event of
theirs, on its local day in the tenant's rollup zone) is computed by the statements that fill
the rollups, staged negated before and as it is after in temporary delta tables, and their
sum added to the rollup rows by one statement per table (`Touched` says which orders). Writers
of the same orders or customers wait for each other (advisory locks taken before the share is
read), and additions to a day wait for a recompute of that day (writes/rollup_days.py), so
concurrent transactions never add a share computed from a state another one changed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import ProductSalesDaily, SalesDaily
from resources.rows import EntityRow, Tombstone
from writes.product_sql import PRODUCTS_OF_ORDERS_SQL
from writes.rollup_days import KEEPS_ROWS, LOCK_DAYS, columns_of, rebuild, recompute, zone_of
from writes.rollup_sql import PLACED_AT
from writes.sales_sql import SALES_OF_ORDERS_SQL

__all__ = ["Touched", "rebuild", "recompute", "zone_of"]

_ORDER_DAYS = text(f"""
SELECT DISTINCT CAST(timezone(:tz, x.at) AS date) AS day FROM (
    SELECT {PLACED_AT.format(t="o")} AS at FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.shopify_id = ANY(CAST(:ids AS bigint[]))
    UNION ALL
    SELECT o.cancelled_at FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.shopify_id = ANY(CAST(:ids AS bigint[]))
    UNION ALL
    SELECT {PLACED_AT.format(t="r")} FROM refunds AS r
    WHERE r.tenant_id = :tenant AND r.order_id = ANY(CAST(:ids AS bigint[]))
) AS x WHERE x.at IS NOT NULL
""")  # noqa: S608 (built from constants only)
_CUSTOMERS_OF = text(
    "SELECT DISTINCT customer_id FROM orders WHERE tenant_id = :tenant "
    "AND shopify_id = ANY(CAST(:ids AS bigint[])) AND customer_id IS NOT NULL"
)
_FIRST_ORDERS = text(f"""
SELECT DISTINCT ON (o.customer_id) o.shopify_id FROM orders AS o
WHERE o.tenant_id = :tenant AND o.customer_id = ANY(CAST(:ids AS bigint[]))
  AND o.deleted_at IS NULL AND o.test IS NOT TRUE
ORDER BY o.customer_id, {PLACED_AT.format(t="o")}, o.shopify_id
""")  # noqa: S608
# The first :k orders of each customer (by placed time, then id), of those that count.
_LEADING = text(f"""
SELECT shopify_id FROM (
    SELECT o.shopify_id, ROW_NUMBER() OVER (
        PARTITION BY o.customer_id ORDER BY {PLACED_AT.format(t="o")}, o.shopify_id
    ) AS n
    FROM orders AS o
    WHERE o.tenant_id = :tenant AND o.customer_id = ANY(CAST(:ids AS bigint[]))
      AND o.deleted_at IS NULL AND o.test IS NOT TRUE
) AS ranked WHERE n <= :k
""")  # noqa: S608
_LOCK_KEYS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(CAST(:tenant AS text) || k, 17)) "
    "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k"
)
_VARIANT_ITEMS = text(
    "SELECT shopify_id, product_id, inventory_item_id FROM product_variants "
    "WHERE tenant_id = :tenant AND product_id = ANY(CAST(:ids AS bigint[]))"
)
_ORDERS_OF = text("""
SELECT DISTINCT l.order_id FROM order_line_items AS l
WHERE l.tenant_id = :tenant AND (
    l.variant_id = ANY(CAST(:variants AS bigint[]))
    OR l.variant_id IN (
        SELECT v.shopify_id FROM product_variants AS v
        WHERE v.tenant_id = :tenant AND v.inventory_item_id = ANY(CAST(:items AS bigint[]))
    )
)
""")


@dataclass
class _Tenant:
    orders: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    items: set[int] = field(default_factory=set)
    variants: dict[int, Any] = field(default_factory=dict)  # incoming variant -> item
    products: dict[int, set[int] | None] = field(default_factory=dict)  # -> kept variants
    tz: str = "UTC"
    ids: list[int] = field(default_factory=list)  # every order whose share may change
    days: set[date] = field(default_factory=set)  # their days before the write


@dataclass
class Touched:
    """What a write touches that the rollups sum, and its share of them before the write.

    The orders whose share may change: the ones written (and those their refunds belong to),
    the first orders of their customers (a new earlier order, a deletion or a test flag moves
    the "first" and so a neighbour's customer type), and the orders selling a variant whose
    inventory item or unit cost changes. Their share is computed before and after the write
    by the same statement, and the difference added to the rollups: exact, and as cheap as the
    orders touched, however many orders their days hold.
    """

    tenants: dict[uuid.UUID, _Tenant] = field(default_factory=lambda: defaultdict(_Tenant))

    @classmethod
    def before(
        cls, session: Session, rows: Sequence[EntityRow], tombstones: Sequence[Tombstone]
    ) -> Touched:
        touched = cls()
        for row in _all_rows(rows):
            touched._note(row)
        for gone in tombstones:
            if gone.resource == "orders":
                touched.tenants[gone.tenant_id].orders.add(gone.key)
        for tenant_id, t in touched.tenants.items():
            t.tz = zone_of(session, tenant_id)
            ids = set(t.orders)
            if t.orders:
                t.customers |= set(_ids(session, _CUSTOMERS_OF, tenant_id, sorted(t.orders)))
            _lock(session, tenant_id, [f"c{c}" for c in t.customers] + [f"o{o}" for o in ids])
            if t.customers:
                params: dict[str, Any] = {"k": min(len(t.orders), 50) + 1}
                ids |= set(_ids(session, _LEADING, tenant_id, sorted(t.customers), **params))
            changed = _changed_variants(session, tenant_id, t)
            if changed or t.items:
                params = {"variants": sorted(changed), "items": sorted(t.items)}
                ids |= set(_ids(session, _ORDERS_OF, tenant_id, [], **params))
            t.ids = sorted(ids)
            if t.ids:
                t.days = _days(session, tenant_id, t.tz, t.ids)
                _stage(session, tenant_id, t.tz, t.ids, -1)
        return touched

    def _note(self, row: EntityRow) -> None:
        t = self.tenants[row.tenant_id]
        if row.resource == "orders":
            t.orders.add(row.key)
            if row.values.get("customer_id") is not None:
                t.customers.add(row.values["customer_id"])
        elif row.resource == "refunds" and row.values.get("order_id") is not None:
            t.orders.add(row.values["order_id"])
        elif row.resource == "products" and row.children is not None:
            for variant in row.children.get("variants") or ():
                t.variants[variant["shopify_id"]] = variant.get("inventory_item_id")
            t.products[row.key] = set((row.kept_children or {}).get("variants") or ())
        elif row.resource == "inventory_item_costs":
            t.items.add(row.key[0] if isinstance(row.key, tuple) else row.key)
        if not (t.orders or t.items or t.products):
            del self.tenants[row.tenant_id]

    def apply(self, session: Session) -> None:
        """Add each touched order's change of share to the rollups."""
        for tenant_id, t in self.tenants.items():
            if not t.ids:
                continue
            customers = set(t.customers) | set(_ids(session, _CUSTOMERS_OF, tenant_id, t.ids))
            firsts = set(_ids(session, _FIRST_ORDERS, tenant_id, sorted(customers)))
            if not firsts <= set(t.ids):
                # A first order nobody foresaw (more of a customer's orders changed at once
                # than looked at): recompute the days instead, as exact and slower.
                days = t.days | _days(session, tenant_id, t.tz, sorted(set(t.ids) | firsts))
                _clear(session, tenant_id)
                recompute(session, tenant_id, days, tz=t.tz)
                continue
            _stage(session, tenant_id, t.tz, t.ids, 1)
            _fold(session, tenant_id)


def _all_rows(rows: Iterable[EntityRow]) -> Iterable[EntityRow]:
    for row in rows:
        yield row
        yield from _all_rows(row.embedded)


def _ids(session: Session, stmt: Any, tenant_id: uuid.UUID, ids: list[int], **more: Any) -> list:
    return list(session.scalars(stmt, {"tenant": tenant_id, "ids": ids, **more}))


def _days(session: Session, tenant_id: uuid.UUID, tz: str, ids: list[int]) -> set[date]:
    return set(session.scalars(_ORDER_DAYS, {"tenant": tenant_id, "tz": tz, "ids": ids}))


def _changed_variants(session: Session, tenant_id: uuid.UUID, t: _Tenant) -> set[int]:
    """Variants whose inventory item the incoming products change (or drop)."""
    if not t.products:
        return set()
    rows = session.execute(_VARIANT_ITEMS, {"tenant": tenant_id, "ids": sorted(t.products)})
    stored = {r.shopify_id: (r.product_id, r.inventory_item_id) for r in rows}
    # New variants, and stored ones whose item changes...
    changed = {v for v, item in t.variants.items() if v not in stored or stored[v][1] != item}
    # ...and stored ones the new version drops (unless it keeps them without carrying them).
    for v, (product, _) in stored.items():
        if v not in t.variants and v not in (t.products.get(product) or set()):
            changed.add(v)
    return changed


def _lock(session: Session, tenant_id: uuid.UUID, keys: list[str]) -> None:
    """Transaction-level advisory locks on (tenant, key), taken in key order."""
    if keys:
        session.execute(_LOCK_KEYS, {"tenant": str(tenant_id), "keys": sorted(set(keys))})


_DELTA_MODELS = (SalesDaily, ProductSalesDaily)
_OF_ORDERS = {SalesDaily: SALES_OF_ORDERS_SQL, ProductSalesDaily: PRODUCTS_OF_ORDERS_SQL}


def _delta_table(model: Any) -> str:
    return f"cw_delta_{model.__tablename__}"


@cache
def _delta_sql(model: Any) -> dict[str, str]:
    """The statements that stage, fold and clear a rollup's changes (built from constants)."""
    table, delta = model.__tablename__, _delta_table(model)
    keys, sums = columns_of(model)
    names = ", ".join(keys + sums)
    signed = ", ".join([*keys, *(f"CAST(:sign AS int) * COALESCE({c}, 0)" for c in sums)])
    summed = ", ".join([*keys, *(f"SUM({c})" for c in sums)])
    grouped = ", ".join(keys)
    nonzero = " OR ".join(f"SUM({c}) <> 0" for c in sums)
    added = ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in sums)
    zero = " AND ".join(f"{c} = 0" for c in sums)
    mine = f"{delta}.tenant_id = CAST(:tenant AS uuid)"
    stage = f"INSERT INTO {delta} (tenant_id, {names}) SELECT CAST(:tenant AS uuid), {signed} "
    fold = f"INSERT INTO {table} (tenant_id, {names}) SELECT CAST(:tenant AS uuid), {summed} "
    return {
        "create": f"CREATE TEMPORARY TABLE IF NOT EXISTS {delta} ON COMMIT DELETE ROWS "  # noqa: S608
        f"AS SELECT tenant_id, {names} FROM {table} WITH NO DATA",
        "stage": f"{stage} FROM ({_OF_ORDERS[model]}) AS q",
        "days": f"SELECT DISTINCT day FROM {delta} WHERE {mine}",  # noqa: S608
        "fold": f"{fold} FROM {delta} WHERE {mine} GROUP BY {grouped} HAVING {nonzero} "
        f"ON CONFLICT (tenant_id, {grouped}) DO UPDATE SET {added}",
        "drop_zero": f"DELETE FROM {table} WHERE tenant_id = CAST(:tenant AS uuid) "  # noqa: S608
        f"AND day IN (SELECT day FROM {delta} WHERE {mine}) AND {zero}",
        "clear": f"DELETE FROM {delta} WHERE {mine}",  # noqa: S608
    }


def _stage(session: Session, tenant_id: uuid.UUID, tz: str, ids: list[int], sign: int) -> None:
    """Stage the orders' share of every rollup row, times `sign`, in the delta tables."""
    params = {"tenant": tenant_id, "tz": tz, "ids": ids, "starts": [], "ends": [], "sign": sign}
    for model in _DELTA_MODELS:
        sql = _delta_sql(model)
        session.execute(text(sql["create"]))
        session.execute(text(sql["stage"]), params)


def _clear(session: Session, tenant_id: uuid.UUID) -> None:
    for model in _DELTA_MODELS:
        session.execute(text(_delta_sql(model)["clear"]), {"tenant": tenant_id})


def _fold(session: Session, tenant_id: uuid.UUID) -> None:
    """Add the staged changes (after - before) to the rollup rows, under the days' locks, and
    drop the rows they leave all zero (but those of rollups kept in memory)."""
    params = {"tenant": tenant_id}
    days: set[date] = set()
    for model in _DELTA_MODELS:
        days |= set(session.scalars(text(_delta_sql(model)["days"]), params))
    if days:
        session.execute(LOCK_DAYS, {"tenant": str(tenant_id), "days": sorted(days)})
    for model in _DELTA_MODELS:
        sql = _delta_sql(model)
        session.execute(text(sql["fold"]), params)
        if model not in KEEPS_ROWS:
            session.execute(text(sql["drop_zero"]), params)
    _clear(session, tenant_id)
