"""The tenant's customers, products, orders, checkouts and carts: pages and single rows.

Every select starts from `scoped()`, which filters on the tenant explicitly and drops
tombstoned rows; row-level security is the second wall, not the only one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from dashboard_api.queries.filters import FILTERS
from dashboard_api.queries.pagination import Sort
from models import Cart, Checkout, Customer, Order, OrderLineItem, Product, ProductVariant
from models.base import Base, table_of

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"^[0-9]{1,19}$")


@dataclass(frozen=True)
class Listing:
    """How one resource is keyed and which columns it may be sorted on."""

    model: type[Base]
    key: InstrumentedAttribute[Any]
    sorts: dict[str, InstrumentedAttribute[Any]]

    def sort(self, spec: str) -> Sort:
        return Sort.parse(spec, self.sorts, self.key)


def _sorts(model: Any, *names: str) -> dict[str, InstrumentedAttribute[Any]]:
    return {name: getattr(model, name) for name in names}


# Only sorts an index serves under row-level security (whose leakproof rule keeps numeric and
# ILIKE comparisons out of index conditions), so every page costs the same, however deep:
# orders by (tenant_id, created_at | processed_at) or the primary key, customers by
# created_at, email or id, checkouts and carts by created_at. Products are few per shop.
LISTINGS: dict[str, Listing] = {
    "customers": Listing(
        Customer,
        Customer.shopify_id,
        {"id": Customer.shopify_id, **_sorts(Customer, "created_at", "email")},
    ),
    "products": Listing(
        Product,
        Product.shopify_id,
        {"id": Product.shopify_id, **_sorts(Product, "created_at", "updated_at", "title", "price")},
    ),
    "orders": Listing(
        Order,
        Order.shopify_id,
        {"id": Order.shopify_id, **_sorts(Order, "created_at", "processed_at")},
    ),
    "checkouts": Listing(Checkout, Checkout.token, _sorts(Checkout, "created_at")),
    "carts": Listing(Cart, Cart.token, _sorts(Cart, "created_at")),
}


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
    items = _enrich(session, resource, tenant_id, rows[:limit])
    return Page(items, order.encode(items[-1]) if more else None)


def parse_key(resource: str, raw: str) -> Any:
    """The path id as the key column's type, or None when it cannot name a row."""
    if LISTINGS[resource].key.key == "token":
        return raw if 0 < len(raw) <= 255 and "\x00" not in raw else None
    if not _DIGITS.match(raw) or int(raw) > BIGINT_MAX:
        return None
    return int(raw)


def get_entity(
    session: Session, resource: str, *, tenant_id: uuid.UUID, key: str
) -> dict[str, Any] | None:
    """One live row by Shopify id (token for carts and checkouts), or None."""
    listing = LISTINGS[resource]
    value = parse_key(resource, key)
    if value is None:
        return None
    row = session.execute(
        scoped(listing.model, tenant_id).where(listing.key == value)
    ).one_or_none()
    if row is None:
        return None
    return _enrich(session, resource, tenant_id, [dict(row._mapping)])[0]


def _enrich(
    session: Session, resource: str, tenant_id: uuid.UUID, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if not rows:
        return rows
    if resource == "orders":
        attach_line_items(session, tenant_id=tenant_id, orders=rows)
    elif resource == "customers":
        attach_customer_stats(session, tenant_id=tenant_id, customers=rows)
    elif resource == "products":
        attach_variants(session, tenant_id=tenant_id, products=rows)
    return rows


def attach_line_items(
    session: Session, *, tenant_id: uuid.UUID, orders: list[dict[str, Any]]
) -> None:
    """Give each order its `line_items` (one query for the whole page)."""
    ids = [o["shopify_id"] for o in orders]
    stmt = (
        select(OrderLineItem)
        .where(OrderLineItem.tenant_id == tenant_id, OrderLineItem.order_id.in_(ids))
        .order_by(OrderLineItem.order_id, OrderLineItem.shopify_id)
    )
    lines: dict[int, list[OrderLineItem]] = {i: [] for i in ids}
    for line in session.scalars(stmt):
        lines[line.order_id].append(line)
    for order in orders:
        order["line_items"] = lines[order["shopify_id"]]


def attach_variants(
    session: Session, *, tenant_id: uuid.UUID, products: list[dict[str, Any]]
) -> None:
    """Give each product its `variants` (one query for the whole page)."""
    ids = [p["shopify_id"] for p in products]
    stmt = (
        select(ProductVariant)
        .where(ProductVariant.tenant_id == tenant_id, ProductVariant.product_id.in_(ids))
        .order_by(ProductVariant.product_id, ProductVariant.shopify_id)
    )
    variants: dict[int, list[ProductVariant]] = {i: [] for i in ids}
    for variant in session.scalars(stmt):
        variants[variant.product_id].append(variant)
    for product in products:
        product["variants"] = variants[product["shopify_id"]]


def customer_order_stats(
    session: Session, *, tenant_id: uuid.UUID, customer_ids: list[int]
) -> dict[int, tuple[int, Any]]:
    """customer id -> (orders count, total spent), by the README's definitions."""
    kept = Order.cancelled_at.is_(None)
    spent = func.coalesce(Order.total_price, 0) - func.coalesce(Order.total_refunded, 0)
    stmt = (
        select(
            Order.customer_id,
            func.count(),
            func.coalesce(func.sum(spent).filter(kept), 0),
        )
        .where(
            Order.tenant_id == tenant_id,
            Order.customer_id.in_(customer_ids),
            Order.deleted_at.is_(None),
            Order.test.is_not(True),
        )
        .group_by(Order.customer_id)
    )
    return {cid: (count, total) for cid, count, total in session.execute(stmt) if cid}


def attach_customer_stats(
    session: Session, *, tenant_id: uuid.UUID, customers: list[dict[str, Any]]
) -> None:
    """Give each customer `orders_count` and `total_spent`."""
    stats = customer_order_stats(
        session, tenant_id=tenant_id, customer_ids=[c["shopify_id"] for c in customers]
    )
    for customer in customers:
        count, total = stats.get(customer["shopify_id"], (0, 0))
        customer["orders_count"] = count
        customer["total_spent"] = total
