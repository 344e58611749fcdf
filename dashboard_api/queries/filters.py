"""Filters of the list endpoints: validated query arguments in, SQL conditions out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, any_, exists, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from models import (
    Cart,
    Checkout,
    Customer,
    Fulfillment,
    InventoryItem,
    InventoryLevel,
    Order,
    OrderLineItem,
    OrderTransaction,
    Product,
    Refund,
)

Conditions = list[ColumnElement[bool]]


def _range(column: Any, args: Mapping[str, Any], prefix: str) -> Conditions:
    """`<prefix>_min` / `<prefix>_max`: inclusive bounds, as Shopify's Admin API has them."""
    out: Conditions = []
    if args.get(f"{prefix}_min") is not None:
        out.append(column >= args[f"{prefix}_min"])
    if args.get(f"{prefix}_max") is not None:
        out.append(column <= args[f"{prefix}_max"])
    return out


def _equal(args: Mapping[str, Any], **columns: Any) -> Conditions:
    """`name=value` for each argument given: the column equals it."""
    return [column == args[name] for name, column in columns.items() if args.get(name) is not None]


def _dates(model: Any, args: Mapping[str, Any]) -> Conditions:
    return _range(model.created_at, args, "created_at") + _range(
        model.updated_at, args, "updated_at"
    )


def like_pattern(text: str) -> str:
    """A substring pattern for ILIKE with the user's own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def customer_filters(args: Mapping[str, Any]) -> Conditions:
    out = _dates(Customer, args)
    if args.get("q"):
        pattern = like_pattern(args["q"].strip())
        full_name = func.concat_ws(" ", Customer.first_name, Customer.last_name)
        out.append(
            or_(
                Customer.email.ilike(pattern, escape="\\"),
                full_name.ilike(pattern, escape="\\"),
            )
        )
    return out


def product_filters(args: Mapping[str, Any]) -> Conditions:
    out = _dates(Product, args)
    if args.get("status"):
        out.append(Product.status == args["status"])
    for name, column in (("vendor", Product.vendor), ("product_type", Product.product_type)):
        if args.get(name) is not None:
            out.append(func.lower(column) == args[name].lower())
    return out


def order_filters(args: Mapping[str, Any]) -> Conditions:
    out = _dates(Order, args) + _range(Order.processed_at, args, "processed_at")
    if args.get("financial_status"):
        out.append(Order.financial_status == args["financial_status"])
    fulfillment = args.get("fulfillment_status")
    if fulfillment == "unfulfilled":
        # Shopify sends null for an order with nothing fulfilled yet.
        out.append(or_(Order.fulfillment_status.is_(None), Order.fulfillment_status == fulfillment))
    elif fulfillment:
        out.append(Order.fulfillment_status == fulfillment)
    if args.get("customer_id") is not None:
        out.append(Order.customer_id == args["customer_id"])
    if args.get("channel") is not None:
        out.append(func.lower(Order.source_name) == args["channel"].lower())
    if args.get("customer_type") is not None:
        out.append(customer_type_is(args["customer_type"]))
    if args.get("product_type") is not None or args.get("vendor") is not None:
        out.append(has_line_of(args.get("product_type"), args.get("vendor")))
    if args.get("customer_tag") is not None:
        out.append(_customer_tagged(args["customer_tag"]))
    return out


def placed_at(model: Any) -> ColumnElement[Any]:
    """When an order was placed, as the reports date it: processed_at, else created_at."""
    return func.coalesce(model.processed_at, model.created_at)


def customer_type_is(kind: str) -> ColumnElement[bool]:
    """`new`: the order is its customer's first live, non-test order (by when it was placed,
    then by id); `returning`: a later one. Guest and test orders are neither.

    The earlier order is looked up by the (tenant_id, customer_id) index, one probe per order.
    """
    earlier = aliased(Order)
    before = exists().where(
        earlier.tenant_id == Order.tenant_id,
        earlier.customer_id == Order.customer_id,
        earlier.deleted_at.is_(None),
        earlier.test.is_not(True),
        tuple_(placed_at(earlier), earlier.shopify_id) < tuple_(placed_at(Order), Order.shopify_id),
    )
    counted = and_(Order.customer_id.is_not(None), Order.test.is_not(True))
    return and_(counted, ~before if kind == "new" else before)


def has_line_of(product_type: str | None, vendor: str | None) -> ColumnElement[bool]:
    """Orders with at least one line of a product of that type and vendor (the product's own,
    from the products table, case-insensitive)."""
    conditions = [
        OrderLineItem.tenant_id == Order.tenant_id,
        OrderLineItem.order_id == Order.shopify_id,
        Product.tenant_id == OrderLineItem.tenant_id,
        Product.shopify_id == OrderLineItem.product_id,
    ]
    if product_type is not None:
        conditions.append(func.lower(Product.product_type) == product_type.lower())
    if vendor is not None:
        conditions.append(func.lower(Product.vendor) == vendor.lower())
    return exists(select(literal(1)).where(*conditions))


def customer_tags(model: Any) -> ColumnElement[Any]:
    """A customer's tags as a lower-cased text array: Shopify sends them as one
    comma-separated string in the payload ("vip, wholesale")."""
    raw = func.lower(func.coalesce(model.payload["tags"].astext, ""))
    trimmed = func.regexp_replace(func.btrim(raw), r"\s*,\s*", ",", "g")
    return func.string_to_array(trimmed, ",", type_=ARRAY(Text))


def _customer_tagged(tag: str) -> ColumnElement[bool]:
    """Orders of a customer (still on record) who carries the tag (case-insensitive)."""
    return exists().where(
        Customer.tenant_id == Order.tenant_id,
        Customer.shopify_id == Order.customer_id,
        Customer.deleted_at.is_(None),
        literal(tag.strip().lower()) == any_(customer_tags(Customer)),
    )


def checkout_filters(args: Mapping[str, Any]) -> Conditions:
    out = _dates(Checkout, args)
    if args.get("status"):
        out.append(Checkout.status == args["status"])
    return out


def cart_filters(args: Mapping[str, Any]) -> Conditions:
    out = _dates(Cart, args)
    if args.get("status"):
        out.append(Cart.status == args["status"])
    return out


def refund_filters(args: Mapping[str, Any]) -> Conditions:
    return (
        _range(Refund.created_at, args, "created_at")
        + _range(Refund.processed_at, args, "processed_at")
        + _equal(args, order_id=Refund.order_id)
    )


def transaction_filters(args: Mapping[str, Any]) -> Conditions:
    out = (
        _range(OrderTransaction.created_at, args, "created_at")
        + _range(OrderTransaction.processed_at, args, "processed_at")
        + _equal(
            args,
            order_id=OrderTransaction.order_id,
            kind=OrderTransaction.kind,
            status=OrderTransaction.status,
        )
    )
    if args.get("gateway") is not None:
        out.append(func.lower(OrderTransaction.gateway) == args["gateway"].lower())
    return out


def fulfillment_filters(args: Mapping[str, Any]) -> Conditions:
    return _dates(Fulfillment, args) + _equal(
        args,
        order_id=Fulfillment.order_id,
        status=Fulfillment.status,
        shipment_status=Fulfillment.shipment_status,
    )


def inventory_item_filters(args: Mapping[str, Any]) -> Conditions:
    return _dates(InventoryItem, args) + _equal(
        args, sku=InventoryItem.sku, tracked=InventoryItem.tracked
    )


def inventory_level_filters(args: Mapping[str, Any]) -> Conditions:
    return _range(InventoryLevel.updated_at, args, "updated_at") + _equal(
        args,
        inventory_item_id=InventoryLevel.inventory_item_id,
        location_id=InventoryLevel.location_id,
    )


FILTERS: dict[str, Callable[[Mapping[str, Any]], Conditions]] = {
    "customers": customer_filters,
    "products": product_filters,
    "orders": order_filters,
    "checkouts": checkout_filters,
    "carts": cart_filters,
    "refunds": refund_filters,
    "transactions": transaction_filters,
    "fulfillments": fulfillment_filters,
    "inventory-items": inventory_item_filters,
    "inventory-levels": inventory_level_filters,
}
