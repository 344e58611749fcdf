"""Filters of the list endpoints: validated query arguments in, SQL conditions out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, func, or_

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
    return out


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
