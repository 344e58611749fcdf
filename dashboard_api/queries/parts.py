"""What comes with an entity: its child rows, the entities that point at it, a customer's stats.

Each function fills a page (or one row) with one query per kind of part, whatever the page size.
Parts with a tombstone of their own (inventory levels and costs, refunds, transactions,
fulfillments) are left out once deleted, as their lists leave them out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from models import (
    Fulfillment,
    FulfillmentLineItem,
    InventoryItemCost,
    InventoryLevel,
    Order,
    OrderAdjustment,
    OrderDiscountAllocation,
    OrderDiscountApplication,
    OrderDiscountCode,
    OrderDuty,
    OrderLineItem,
    OrderShippingLine,
    OrderTaxLine,
    OrderTransaction,
    ProductVariant,
    Refund,
    RefundDuty,
    RefundLineItem,
    RefundShippingLine,
)
from models.scoping import tenant_select

Rows = list[dict[str, Any]]

# order part -> (model, its order in the list); positioned parts keep Shopify's order.
ORDER_PARTS: dict[str, tuple[Any, Any]] = {
    "shipping_lines": (OrderShippingLine, OrderShippingLine.shopify_id),
    "discount_applications": (OrderDiscountApplication, OrderDiscountApplication.position),
    "discount_allocations": (OrderDiscountAllocation, OrderDiscountAllocation.position),
    "discount_codes": (OrderDiscountCode, OrderDiscountCode.position),
    "tax_lines": (OrderTaxLine, OrderTaxLine.position),
    "duties": (OrderDuty, OrderDuty.shopify_id),
}
REFUND_PARTS: dict[str, tuple[Any, Any]] = {
    "refund_line_items": (RefundLineItem, RefundLineItem.shopify_id),
    "refund_shipping_lines": (RefundShippingLine, RefundShippingLine.shopify_id),
    "order_adjustments": (OrderAdjustment, OrderAdjustment.shopify_id),
    "duties": (RefundDuty, RefundDuty.position),
}
# What an order carries whole, each a resource of its own with a list of its own.
ORDER_ENTITIES: dict[str, Any] = {
    "refunds": Refund,
    "transactions": OrderTransaction,
    "fulfillments": Fulfillment,
}


def _ids(rows: Rows) -> list[int]:
    return [r["shopify_id"] for r in rows]


def children(
    session: Session,
    model: Any,
    parent: InstrumentedAttribute[Any],
    *,
    tenant_id: uuid.UUID,
    ids: Sequence[Any],
    order_by: Sequence[Any],
    live: bool = False,
    where: Sequence[ColumnElement[bool]] = (),
) -> dict[Any, list[Any]]:
    """parent id -> its rows of `model`, in `order_by` order; `live` leaves tombstoned rows out."""
    if not ids:
        return {}
    stmt = tenant_select(model, tenant_id=tenant_id).where(parent.in_(ids), *where)
    if live:
        stmt = stmt.where(model.deleted_at.is_(None))
    found: dict[Any, list[Any]] = {i: [] for i in ids}
    for row in session.scalars(stmt.order_by(parent, *order_by)):
        found[getattr(row, parent.key)].append(row)
    return found


def attach_line_items(session: Session, *, tenant_id: uuid.UUID, orders: Rows) -> None:
    """Give each order its `line_items` (one query for the whole page)."""
    lines = children(
        session,
        OrderLineItem,
        OrderLineItem.order_id,
        tenant_id=tenant_id,
        ids=_ids(orders),
        order_by=[OrderLineItem.shopify_id],
    )
    for order in orders:
        order["line_items"] = lines[order["shopify_id"]]


def attach_order_parts(session: Session, *, tenant_id: uuid.UUID, orders: Rows) -> None:
    """Give each order its lines and money parts, and its refunds, transactions and fulfillments."""
    attach_line_items(session, tenant_id=tenant_id, orders=orders)
    ids = _ids(orders)
    for name, (model, order) in ORDER_PARTS.items():
        found = children(
            session, model, model.order_id, tenant_id=tenant_id, ids=ids, order_by=[order]
        )
        for row in orders:
            row[name] = found[row["shopify_id"]]
    for name, model in ORDER_ENTITIES.items():
        of_order = entities_of_orders(session, model, tenant_id=tenant_id, ids=ids)
        for row in orders:
            row[name] = of_order.get(row["shopify_id"], [])
    attach_refund_parts(session, tenant_id=tenant_id, rows=_all(orders, "refunds"))
    attach_fulfilled_lines(session, tenant_id=tenant_id, rows=_all(orders, "fulfillments"))


def _all(orders: Rows, name: str) -> Rows:
    return [entity for order in orders for entity in order[name]]


def entities_of_orders(
    session: Session, model: Any, *, tenant_id: uuid.UUID, ids: Sequence[int]
) -> dict[int, Rows]:
    """order id -> its live rows of `model` (columns as the lists give them), oldest first."""
    if not ids:
        return {}
    columns = [c for c in model.__table__.c if c.name != "payload"]
    stmt = (
        tenant_select(model, *columns, tenant_id=tenant_id)
        .where(model.order_id.in_(ids), model.deleted_at.is_(None))
        .order_by(model.created_at.asc().nulls_last(), model.shopify_id)
    )
    found: dict[int, Rows] = {}
    for row in session.execute(stmt):
        found.setdefault(row.order_id, []).append(dict(row._mapping))
    return found


def attach_variants(session: Session, *, tenant_id: uuid.UUID, products: Rows) -> None:
    """Give each product its `variants` (one query for the whole page)."""
    variants = children(
        session,
        ProductVariant,
        ProductVariant.product_id,
        tenant_id=tenant_id,
        ids=_ids(products),
        order_by=[ProductVariant.shopify_id],
    )
    for product in products:
        product["variants"] = variants[product["shopify_id"]]


def attach_refund_parts(session: Session, *, tenant_id: uuid.UUID, rows: Rows) -> None:
    """Give each refund its goods, shipping, adjustments and duties refunded."""
    ids = _ids(rows)
    for name, (model, order) in REFUND_PARTS.items():
        found = children(
            session, model, model.refund_id, tenant_id=tenant_id, ids=ids, order_by=[order]
        )
        for row in rows:
            row[name] = found[row["shopify_id"]]


def attach_refund_transactions(session: Session, *, tenant_id: uuid.UUID, rows: Rows) -> None:
    """Give each refund the transactions that moved its money back."""
    transactions = children(
        session,
        OrderTransaction,
        OrderTransaction.refund_id,
        tenant_id=tenant_id,
        ids=_ids(rows),
        order_by=[OrderTransaction.shopify_id],
        live=True,
        # By order too: order_transactions is indexed on its order, not on its refund.
        where=[OrderTransaction.order_id.in_({r["order_id"] for r in rows})],
    )
    for row in rows:
        row["transactions"] = transactions[row["shopify_id"]]


def attach_fulfilled_lines(session: Session, *, tenant_id: uuid.UUID, rows: Rows) -> None:
    """Give each fulfillment its `line_items`: which order lines, how many units."""
    lines = children(
        session,
        FulfillmentLineItem,
        FulfillmentLineItem.fulfillment_id,
        tenant_id=tenant_id,
        ids=_ids(rows),
        order_by=[FulfillmentLineItem.position],
    )
    for row in rows:
        row["line_items"] = lines[row["shopify_id"]]


def attach_inventory(session: Session, *, tenant_id: uuid.UUID, items: Rows) -> None:
    """Give each inventory item its cost history (newest first) and its levels per location."""
    ids = _ids(items)
    costs = children(
        session,
        InventoryItemCost,
        InventoryItemCost.inventory_item_id,
        tenant_id=tenant_id,
        ids=ids,
        order_by=[InventoryItemCost.recorded_at.desc()],
        live=True,
    )
    levels = children(
        session,
        InventoryLevel,
        InventoryLevel.inventory_item_id,
        tenant_id=tenant_id,
        ids=ids,
        order_by=[InventoryLevel.location_id],
        live=True,
    )
    for row in items:
        row["costs"] = costs[row["shopify_id"]]
        row["levels"] = levels[row["shopify_id"]]


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


def attach_customer_stats(session: Session, *, tenant_id: uuid.UUID, customers: Rows) -> None:
    """Give each customer `orders_count` and `total_spent`."""
    stats = customer_order_stats(
        session, tenant_id=tenant_id, customer_ids=[c["shopify_id"] for c in customers]
    )
    for customer in customers:
        count, total = stats.get(customer["shopify_id"], (0, 0))
        customer["orders_count"] = count
        customer["total_spent"] = total
