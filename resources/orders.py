"""Orders and their line items: `orders/*` webhooks, /ingest, the Admin API's `orders`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

from models import (
    Order,
    OrderDiscountAllocation,
    OrderDiscountApplication,
    OrderDiscountCode,
    OrderDuty,
    OrderLineItem,
    OrderShippingLine,
    OrderTaxLine,
)
from models.base import table_of
from resources import customers, fulfillments, orders_pull, refunds
from resources.fields import (
    EmbeddedCustomer,
    LooseId,
    Money,
    Payload,
    ShopifyId,
    Timestamp,
    Versioned,
    money_set,
    nested_list,
    normalize_token,
    optional,
    presentment_money,
    shop_money,
    text,
)
from resources.registry import (
    Children,
    Embedded,
    Resource,
)

LINE_COLUMNS = (
    "product_id", "variant_id", "sku", "title", "vendor", "quantity", "current_quantity",
    "gift_card", "price", "price_presentment", "total_discount", "discount_allocated",
    "discount_allocated_presentment", "tax", "tax_presentment", "duties", "duties_presentment",
)  # fmt: skip
SHIPPING_COLUMNS = (
    "title", "code", "source", "price", "price_presentment", "discounted_price",
    "discount_allocated", "discount_allocated_presentment", "tax", "tax_presentment",
    "is_removed",
)  # fmt: skip
APPLICATION_COLUMNS = (
    "type", "code", "title", "value", "value_type", "allocation_method", "target_selection",
    "target_type",
)  # fmt: skip
ALLOCATION_COLUMNS = (
    "line_item_id", "shipping_line_id", "application_index", "amount", "amount_presentment",
)  # fmt: skip
TAX_COLUMNS = ("title", "rate", "price", "price_presentment", "channel_liable")
DUTY_COLUMNS = (
    "line_item_id", "harmonized_system_code", "country_code_of_origin", "price",
    "price_presentment",
)  # fmt: skip
# REST's fulfillment_status: null while unfulfilled, else these (GraphQL's other display
# states -- in progress, on hold, scheduled... -- are still unfulfilled to REST).
_FULFILLMENT = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "RESTOCKED": "restocked",
}
ZERO = Decimal(0)


class TaxLinePayload(Payload):
    title = text()
    rate = optional(Money())  # a JSON number: 0.13
    price = optional(Money())
    price_set = money_set()
    channel_liable = optional(fields.Boolean())


class AllocationPayload(Payload):
    amount = optional(Money())
    amount_set = money_set()
    discount_application_index = optional(fields.Integer(strict=True))


class MoneyPayload(Payload):
    amount = optional(Money())


class DutyPayload(Payload):
    """A line's duty: its id is a digit string, its amounts sit on the duty itself."""

    id = LooseId(required=True)
    harmonized_system_code = text(32)
    country_code_of_origin = text(8)
    shop_money = optional(fields.Nested(MoneyPayload))
    presentment_money = optional(fields.Nested(MoneyPayload))


class LineItemPayload(Payload):
    id = ShopifyId(required=True)
    product_id = optional(ShopifyId())
    variant_id = optional(ShopifyId())
    sku = text()
    title = text()
    vendor = text()
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, 2**31 - 1))
    current_quantity = optional(fields.Integer(strict=True))
    gift_card = optional(fields.Boolean())
    price = optional(Money())
    price_set = money_set()
    total_discount = optional(Money())
    total_discount_set = money_set()
    discount_allocations = nested_list(AllocationPayload)
    tax_lines = nested_list(TaxLinePayload)
    duties = nested_list(DutyPayload)


class ShippingLinePayload(Payload):
    id = ShopifyId(required=True)
    title = text()
    code = text()
    source = text()
    price = optional(Money())
    price_set = money_set()
    discounted_price = optional(Money())
    discounted_price_set = money_set()
    discount_allocations = nested_list(AllocationPayload)
    tax_lines = nested_list(TaxLinePayload)
    is_removed = optional(fields.Boolean())


class DiscountApplicationPayload(Payload):
    type = text(32)
    code = text()
    title = text()
    value = optional(Money())
    value_type = text(32)
    allocation_method = text(32)
    target_selection = text(32)
    target_type = text(32)


class DiscountCodePayload(Payload):
    code = text()
    type = text(32)
    amount = optional(Money())


class OrderPayload(Versioned):
    id = ShopifyId(required=True)
    name = text(64)
    order_number = optional(fields.Integer(strict=True))
    email = text(320)
    customer = optional(fields.Nested(EmbeddedCustomer))
    financial_status = text(32)
    fulfillment_status = text(32)
    currency = text(8)
    presentment_currency = text(8)
    taxes_included = optional(fields.Boolean())
    total_line_items_price = optional(Money())
    total_line_items_price_set = money_set()
    total_price = optional(Money())
    total_price_set = money_set()
    subtotal_price = optional(Money())
    subtotal_price_set = money_set()
    total_tax = optional(Money())
    total_tax_set = money_set()
    total_discounts = optional(Money())
    total_discounts_set = money_set()
    total_shipping_price_set = money_set()
    original_total_duties_set = money_set()
    total_tip_received = optional(Money())
    current_total_price = optional(Money())
    cancel_reason = text(32)
    cart_token = text(255)
    checkout_token = text(255)
    checkout_id = optional(ShopifyId())  # gone from API 2026-04
    source_name = text(64)
    test = optional(fields.Boolean())
    created_at = optional(Timestamp())
    processed_at = optional(Timestamp())
    cancelled_at = optional(Timestamp())
    closed_at = optional(Timestamp())
    line_items = nested_list(LineItemPayload)
    shipping_lines = nested_list(ShippingLinePayload)
    discount_applications = nested_list(DiscountApplicationPayload)
    discount_codes = nested_list(DiscountCodePayload)
    tax_lines = nested_list(TaxLinePayload)
    refunds = nested_list(refunds.RefundPayload)
    fulfillments = nested_list(fulfillments.FulfillmentPayload)


def _total(items: Any, name: str, currency: str) -> Decimal | None:
    """Σ of `name` over items in "shop" or "presentment" money; None for no items."""
    amounts = [
        shop_money(i, name) if currency == "shop" else presentment_money(i, name) for i in items
    ]
    known = [a for a in amounts if a is not None]
    return sum(known, ZERO) if known else (ZERO if not amounts else None)


def _allocations(items: Any, column: str, out: list[dict[str, Any]]) -> None:
    for item in items:
        for a in item.get("discount_allocations") or ():
            out.append(
                {
                    "line_item_id": None,
                    "shipping_line_id": None,
                    column: item["id"],
                    "application_index": a.get("discount_application_index"),
                    "amount": shop_money(a, "amount"),
                    "amount_presentment": presentment_money(a, "amount"),
                }
            )


def _money_part(item: dict[str, Any]) -> dict[str, Any]:
    """Unit price, allocated discounts and taxes of a line item or shipping line."""
    allocations = item.get("discount_allocations") or ()
    taxes = item.get("tax_lines") or ()
    return {
        "price": shop_money(item, "price"),
        "price_presentment": presentment_money(item, "price"),
        "discount_allocated": _total(allocations, "amount", "shop"),
        "discount_allocated_presentment": _total(allocations, "amount", "presentment"),
        "tax": _total(taxes, "price", "shop"),
        "tax_presentment": _total(taxes, "price", "presentment"),
    }


def _duty_amount(duty: dict[str, Any], bag: str) -> Decimal | None:
    return (duty.get(bag) or {}).get("amount")


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """Shop and presentment money, the money parts as child rows, what was refunded, the
    customer's id and the tokens; the refunds and fulfillments inside point at the order."""
    oid = values["id"]
    for name in ("total_price", "subtotal_price", "total_tax", "total_discounts",
                 "total_line_items_price"):  # fmt: skip
        values[f"{name}_presentment"] = presentment_money(values, name)
        values[name] = shop_money(values, name)
    shipping_set = values.get("total_shipping_price_set")
    values["total_shipping_price"] = shipping_set.shop if shipping_set else None
    values["total_shipping_price_presentment"] = shipping_set.presentment if shipping_set else None
    duties_set = values.get("original_total_duties_set")
    values["total_duties"] = duties_set.shop if duties_set else None

    lines: list[dict[str, Any]] = []
    duties: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    for line in values.get("line_items") or ():
        for duty in line.get("duties") or ():
            duties.append(
                {
                    "id": duty["id"],
                    "line_item_id": line["id"],
                    "harmonized_system_code": duty.get("harmonized_system_code"),
                    "country_code_of_origin": duty.get("country_code_of_origin"),
                    "price": _duty_amount(duty, "shop_money"),
                    "price_presentment": _duty_amount(duty, "presentment_money"),
                }
            )
        known = [d for d in duties if d["line_item_id"] == line["id"]]
        lines.append(
            line
            | _money_part(line)
            | {
                "total_discount": shop_money(line, "total_discount"),
                "duties": sum((d["price"] or ZERO for d in known), ZERO) if known else None,
                "duties_presentment": sum((d["price_presentment"] or ZERO for d in known), ZERO)
                if known
                else None,
            }
        )
    shipping = [
        s | _money_part(s) | {"discounted_price": shop_money(s, "discounted_price")}
        for s in values.get("shipping_lines") or ()
    ]
    _allocations(values.get("line_items") or (), "line_item_id", allocations)
    _allocations(values.get("shipping_lines") or (), "shipping_line_id", allocations)
    values["line_items"], values["shipping_lines"] = lines, shipping
    values["discount_allocations"], values["duties"] = allocations, duties
    values["tax_lines"] = [
        t | {"price": shop_money(t, "price"), "price_presentment": presentment_money(t, "price")}
        for t in values.get("tax_lines") or ()
    ]
    values["discount_codes"] = values.get("discount_codes") or []
    values["discount_applications"] = values.get("discount_applications") or []

    refunds_in = [r | {"order_id": r.get("order_id") or oid} for r in values.get("refunds") or ()]
    money = [refunds.refunded(r) for r in refunds_in]
    values["refunds"] = refunds_in
    values["total_refunded"] = sum((m[0] for m in money), ZERO)
    values["total_refunded_presentment"] = sum((m[1] for m in money), ZERO)
    values["fulfillments"] = [
        f | {"order_id": f.get("order_id") or oid} for f in values.get("fulfillments") or ()
    ]
    customer = values.get("customer")
    values["customer_id"] = customer["id"] if customer else None
    for name in ("cart_token", "checkout_token"):
        values[name] = normalize_token(values.get(name))
    return values


COLUMNS = (
    "name", "order_number", "email", "customer_id", "financial_status",
    "fulfillment_status", "currency", "presentment_currency", "taxes_included",
    "total_line_items_price", "total_price", "subtotal_price", "total_tax", "total_discounts",
    "total_shipping_price", "total_duties", "total_tip_received", "current_total_price",
    "total_refunded", "total_price_presentment", "subtotal_price_presentment",
    "total_tax_presentment", "total_discounts_presentment", "total_shipping_price_presentment",
    "total_refunded_presentment", "cancel_reason", "cart_token", "checkout_token",
    "checkout_id", "source_name", "test", "created_at", "processed_at", "cancelled_at",
    "closed_at",
)  # fmt: skip

TOPICS = (
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled",
    "orders/fulfilled", "orders/partially_fulfilled",
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
        Children(
            table_of(OrderShippingLine),
            "order_id",
            field="shipping_lines",
            columns=SHIPPING_COLUMNS,
        ),
        Children(
            table_of(OrderDiscountApplication),
            "order_id",
            field="discount_applications",
            columns=APPLICATION_COLUMNS,
            key="position",
        ),
        Children(
            table_of(OrderDiscountAllocation),
            "order_id",
            field="discount_allocations",
            columns=ALLOCATION_COLUMNS,
            key="position",
        ),
        Children(
            table_of(OrderDiscountCode),
            "order_id",
            field="discount_codes",
            columns=("code", "type", "amount"),
            key="position",
        ),
        Children(
            table_of(OrderTaxLine),
            "order_id",
            field="tax_lines",
            columns=TAX_COLUMNS,
            key="position",
        ),
        Children(table_of(OrderDuty), "order_id", field="duties", columns=DUTY_COLUMNS),
    ),
    embedded=(
        Embedded(
            "customer", customers.RESOURCE, columns=("email", "first_name", "last_name", "phone")
        ),
        Embedded("refunds", refunds.RESOURCE, many=True),
        Embedded("fulfillments", fulfillments.RESOURCE, many=True),
    ),
    links={"checkouts": "checkout_token", "carts": "cart_token"},
    ingest_topic="orders/updated",
    pull=orders_pull.PULL,
)
