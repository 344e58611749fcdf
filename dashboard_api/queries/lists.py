"""The tenant's entities, pages and single rows: customers, products, orders, checkouts, carts,
refunds, transactions, fulfillments, inventory items and levels.

Every select starts from `scoped()`, which filters on the tenant explicitly and drops
tombstoned rows; row-level security is the second wall, not the only one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from dashboard_api.queries import parts
from dashboard_api.queries.filters import FILTERS
from dashboard_api.queries.pagination import Sort
from models import (
    Cart,
    Checkout,
    Customer,
    Fulfillment,
    InventoryItem,
    InventoryLevel,
    Order,
    OrderTransaction,
    Product,
    Refund,
)
from models.base import Base, table_of

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]{1,19}$")


@dataclass(frozen=True)
class Listing:
    """How one resource is keyed, which columns it may be sorted on, and its default sort."""

    model: type[Base]
    key: tuple[InstrumentedAttribute[Any], ...]
    sorts: dict[str, InstrumentedAttribute[Any]]
    default_sort: str = "-created_at"

    def sort(self, spec: str) -> Sort:
        return Sort.parse(spec, self.sorts, self.key)


def _sorts(model: Any, *names: str) -> dict[str, InstrumentedAttribute[Any]]:
    return {name: getattr(model, name) for name in names}


def _by_id(model: Any, *names: str) -> Listing:
    """A resource keyed by its Shopify id, sortable by it and by `names`."""
    return Listing(model, (model.shopify_id,), {"id": model.shopify_id, **_sorts(model, *names)})


# Only sorts an index serves under row-level security (whose leakproof rule keeps numeric and
# ILIKE comparisons out of index conditions), so every page costs the same, however deep:
# orders by (tenant_id, created_at | processed_at) or the primary key, customers by
# created_at, email or id, checkouts and carts by created_at, the money resources by their
# key. Products are few per shop. The created_at sorts of refunds, transactions, fulfillments
# and inventory items, and refunds by processed_at, want (tenant_id, column) indexes, which
# migration 0008 does not create: until then they sort the shop's rows of that table. An
# inventory level has no id: its key is (item, location), and sorting by the item sorts by both.
LISTINGS: dict[str, Listing] = {
    "customers": _by_id(Customer, "created_at", "email"),
    "products": _by_id(Product, "created_at", "updated_at", "title", "price"),
    "orders": _by_id(Order, "created_at", "processed_at"),
    "checkouts": Listing(Checkout, (Checkout.token,), _sorts(Checkout, "created_at")),
    "carts": Listing(Cart, (Cart.token,), _sorts(Cart, "created_at")),
    "refunds": _by_id(Refund, "created_at", "processed_at"),
    "transactions": _by_id(OrderTransaction, "created_at"),
    "fulfillments": _by_id(Fulfillment, "created_at"),
    "inventory-items": _by_id(InventoryItem, "created_at"),
    "inventory-levels": Listing(
        InventoryLevel,
        (InventoryLevel.inventory_item_id, InventoryLevel.location_id),
        _sorts(InventoryLevel, "inventory_item_id"),
        default_sort="inventory_item_id",
    ),
}

Attach = Callable[[Session, uuid.UUID, list[dict[str, Any]]], None]

# What every row of a list (and a single row) comes with.
ITEM_PARTS: dict[str, Attach] = {
    "orders": lambda s, t, rows: parts.attach_order_parts(s, tenant_id=t, orders=rows),
    "customers": lambda s, t, rows: parts.attach_customer_stats(s, tenant_id=t, customers=rows),
    "products": lambda s, t, rows: parts.attach_variants(s, tenant_id=t, products=rows),
    "refunds": lambda s, t, rows: parts.attach_refund_parts(s, tenant_id=t, rows=rows),
    "fulfillments": lambda s, t, rows: parts.attach_fulfilled_lines(s, tenant_id=t, rows=rows),
}
# What a single row comes with besides: what a list leaves to a filter of another list
# (/api/transactions?order_id=, /api/inventory-levels?inventory_item_id=).
DETAIL_PARTS: dict[str, Attach] = {
    "refunds": lambda s, t, rows: parts.attach_refund_transactions(s, tenant_id=t, rows=rows),
    "inventory-items": lambda s, t, rows: parts.attach_inventory(s, tenant_id=t, items=rows),
}


# What an export's rows come with: the parts a CSV row can hold (scalars, not lists).
EXPORT_PARTS: dict[str, Attach] = {"customers": ITEM_PARTS["customers"]}
EXPORT_BATCH = 2000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def scoped(model: Any, tenant_id: uuid.UUID) -> Select[Any]:
    """Every column but the raw payload, of the tenant's live (not tombstoned) rows."""
    columns = [c for c in table_of(model).c if c.name != "payload"]
    return select(*columns).where(model.tenant_id == tenant_id, model.deleted_at.is_(None))


def list_entities(
    session: Session,
    resource: str,
    *,
    tenant_id: uuid.UUID,
    sort: str,
    limit: int,
    cursor: str | None = None,
    filters: Mapping[str, Any] | None = None,
) -> Page:
    """One page of a resource; raises CursorError for a cursor of another sort or a forgery."""
    listing = LISTINGS[resource]
    order = listing.sort(sort)
    base = scoped(listing.model, tenant_id).where(*FILTERS[resource](filters or {}))
    rows: list[dict[str, Any]] = []
    for segment in order.segments(order.decode(cursor) if cursor else None):
        stmt = base if segment.where is None else base.where(segment.where)
        stmt = stmt.order_by(*segment.order_by).limit(limit + 1 - len(rows))
        rows += [dict(r._mapping) for r in session.execute(stmt)]
        if len(rows) > limit:
            break
    more = len(rows) > limit
    items = _with_parts(session, ITEM_PARTS, resource, tenant_id, rows[:limit])
    return Page(items, order.encode(items[-1]) if more else None)


def iter_entities(
    session: Session,
    resource: str,
    *,
    tenant_id: uuid.UUID,
    sort: str,
    filters: Mapping[str, Any] | None = None,
    batch: int = EXPORT_BATCH,
) -> Iterator[dict[str, Any]]:
    """Every row of a list, filtered and sorted as its pages are, for an export.

    A server-side cursor hands the rows over `batch` at a time, so memory stays flat however
    many rows there are; each batch gets its parts in one query, as a page does.
    """
    listing = LISTINGS[resource]
    order = listing.sort(sort)
    base = scoped(listing.model, tenant_id).where(*FILTERS[resource](filters or {}))
    (segment,) = order.segments(None)
    stmt = base.order_by(*segment.order_by).execution_options(yield_per=batch)
    for part in session.execute(stmt).partitions():
        rows = [dict(r._mapping) for r in part]
        yield from _with_parts(session, EXPORT_PARTS, resource, tenant_id, rows)


def parse_key(resource: str, raw: str) -> Any:
    """The path id as the key column's type, or None when it cannot name a row."""
    if LISTINGS[resource].key[0].key == "token":
        return raw if 0 < len(raw) <= 255 and "\x00" not in raw else None
    if not _DIGITS.match(raw) or int(raw) > BIGINT_MAX:
        return None
    return int(raw)


def get_entity(
    session: Session, resource: str, *, tenant_id: uuid.UUID, key: str
) -> dict[str, Any] | None:
    """One live row by Shopify id (token for carts and checkouts), with its parts, or None."""
    listing = LISTINGS[resource]
    (column,) = listing.key
    value = parse_key(resource, key)
    if value is None:
        return None
    row = session.execute(scoped(listing.model, tenant_id).where(column == value)).one_or_none()
    if row is None:
        return None
    rows = _with_parts(session, ITEM_PARTS, resource, tenant_id, [dict(row._mapping)])
    return _with_parts(session, DETAIL_PARTS, resource, tenant_id, rows)[0]


def _with_parts(
    session: Session,
    table: dict[str, Attach],
    resource: str,
    tenant_id: uuid.UUID,
    rows: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    attach = table.get(resource)
    if rows and attach is not None:
        attach(session, tenant_id, rows)
    return rows
