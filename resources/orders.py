"""Orders and their line items: `orders/*` webhooks, /ingest, the Admin API's `orders`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

from models import Order, OrderLineItem
from models.base import table_of
from resources import customers
from resources import graphql as gql
from resources.fields import (
    EmbeddedCustomer,
    Money,
    Payload,
    ShopifyId,
    Timestamp,
    Versioned,
    nested_list,
    normalize_token,
    optional,
    text,
)
from resources.registry import (
    Children,
    Embedded,
    Pull,
    PullContext,
    Pulled,
    Resource,
    pulled_embedded,
)

LINE_COLUMNS = ("product_id", "variant_id", "sku", "title", "quantity", "current_quantity", "price")
# REST's fulfillment_status: null while unfulfilled, else these (GraphQL's other display
# states -- in progress, on hold, scheduled... -- are still unfulfilled to REST).
_FULFILLMENT = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}


class LineItemPayload(Payload):
    id = ShopifyId(required=True)
    product_id = optional(ShopifyId())
    variant_id = optional(ShopifyId())
    sku = text()
    title = text()
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, 2**31 - 1))
    current_quantity = optional(fields.Integer(strict=True))
    price = optional(Money())


class RefundTransaction(Payload):
    kind = text()
    status = text()
    amount = optional(Money())


class RefundPayload(Payload):
    transactions = fields.List(fields.Nested(RefundTransaction), load_default=list)


class OrderPayload(Versioned):
    id = ShopifyId(required=True)
    name = text(64)
    order_number = optional(fields.Integer(strict=True))
    email = text(320)
    customer = optional(fields.Nested(EmbeddedCustomer))
    financial_status = text(32)
    fulfillment_status = text(32)
    currency = text(8)
    total_price = optional(Money())
    subtotal_price = optional(Money())
    total_tax = optional(Money())
    total_discounts = optional(Money())
    current_total_price = optional(Money())
    cancel_reason = text(32)
    cart_token = text(255)
    checkout_token = text(255)
    checkout_id = optional(ShopifyId())
    source_name = text(64)
    test = optional(fields.Boolean())
    created_at = optional(Timestamp())
    processed_at = optional(Timestamp())
    cancelled_at = optional(Timestamp())
    closed_at = optional(Timestamp())
    line_items = nested_list(LineItemPayload)
    refunds = nested_list(RefundPayload)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """Refunded money from the successful refund transactions; the customer's id; tokens."""
    values["line_items"] = values.get("line_items") or []
    values["total_refunded"] = sum(
        (
            t["amount"]
            for r in values.pop("refunds", None) or []
            for t in r["transactions"]
            if t.get("kind") == "refund" and t.get("status") == "success" and t.get("amount")
        ),
        Decimal(0),
    )
    customer = values.get("customer")
    values["customer_id"] = customer["id"] if customer else None
    for name in ("cart_token", "checkout_token"):
        values[name] = normalize_token(values.get(name))
    return values


def map_order(node: dict[str, Any], children: list[dict[str, Any]], context: PullContext) -> Pulled:
    """An Order node and its LineItem nodes -> orders and order_line_items rows.

    The Admin API exposes no order_number or checkout_id: those columns keep what a webhook wrote.
    """
    total = node.get("totalPriceSet")
    values = {
        "name": node.get("name"),
        "email": node.get("email"),
        "customer_id": gql.ref(node.get("customer")),
        "financial_status": gql.lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT.get(str(node.get("displayFulfillmentStatus"))),
        "currency": node.get("currencyCode") or gql.currency(total),
        "total_price": gql.money(total),
        "subtotal_price": gql.money(node.get("subtotalPriceSet")),
        "total_tax": gql.money(node.get("totalTaxSet")),
        "total_discounts": gql.money(node.get("totalDiscountsSet")),
        "current_total_price": gql.money(node.get("currentTotalPriceSet")),
        "total_refunded": gql.money(node.get("totalRefundedSet")) or Decimal(0),
        "cancel_reason": gql.lower(node.get("cancelReason")),
        "cart_token": normalize_token(node.get("cartToken")),
        "checkout_token": normalize_token(node.get("checkoutToken")),
        "source_name": node.get("sourceName"),
        "test": node.get("test"),
        "created_at": gql.time(node.get("createdAt")),
        "processed_at": gql.time(node.get("processedAt")),
        "cancelled_at": gql.time(node.get("cancelledAt")),
        "closed_at": gql.time(node.get("closedAt")),
        "updated_at": gql.time(node.get("updatedAt")),
    }
    lines = [
        {
            "shopify_id": gql.numeric_id(c["id"]),
            "product_id": gql.ref(c.get("product")),
            "variant_id": gql.ref(c.get("variant")),
            "sku": c.get("sku"),
            "title": c.get("title"),
            "quantity": int(c.get("quantity") or 0),
            "current_quantity": c.get("currentQuantity"),
            "price": gql.money(c.get("originalUnitPriceSet")),
        }
        for c in children
    ]
    embedded = []
    if customer := gql.customer_ref(node.get("customer")):
        key = customer.pop("shopify_id")
        embedded.append(pulled_embedded(customers.RESOURCE, context, key, customer))
    return Pulled(gql.numeric_id(node.get("id")), values, {"line_items": lines}, embedded)


COLUMNS = (
    "name", "order_number", "email", "customer_id", "financial_status",
    "fulfillment_status", "currency", "total_price", "subtotal_price", "total_tax",
    "total_discounts", "current_total_price", "total_refunded", "cancel_reason",
    "cart_token", "checkout_token", "checkout_id", "source_name", "test", "created_at",
    "processed_at", "cancelled_at", "closed_at",
)  # fmt: skip

TOPICS = (
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled",
    "orders/fulfilled", "orders/partially_fulfilled", "orders/edited",
)  # fmt: skip


RESOURCE = Resource(
    name="orders",
    table=table_of(Order),
    key="shopify_id",
    payload_key="id",
    schema=OrderPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=TOPICS,
    delete_topic="orders/delete",
    children=(
        Children(table_of(OrderLineItem), "order_id", field="line_items", columns=LINE_COLUMNS),
    ),
    embedded=(
        Embedded(
            "customer", customers.RESOURCE, columns=("email", "first_name", "last_name", "phone")
        ),
    ),
    links={"checkouts": "checkout_token", "carts": "cart_token"},
    ingest_topic="orders/updated",
    pull=Pull(
        connection="orders",
        fields="id name email createdAt updatedAt processedAt cancelledAt closedAt cancelReason "
        "displayFinancialStatus displayFulfillmentStatus currencyCode test sourceName cartToken "
        f"checkoutToken totalPriceSet {gql.MONEY} subtotalPriceSet {gql.MONEY} "
        f"totalTaxSet {gql.MONEY} totalDiscountsSet {gql.MONEY} "
        f"currentTotalPriceSet {gql.MONEY} totalRefundedSet {gql.MONEY} {gql.CUSTOMER_REF}",
        map_node=map_order,
        child="lineItems",
        child_fields="id sku title quantity currentQuantity originalUnitPriceSet "
        f"{gql.MONEY} product {{ id }} variant {{ id }}",
        page_size=10,
        child_page=10,
        single="order",
    ),
)
