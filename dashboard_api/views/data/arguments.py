"""Query arguments of the data lists: pages, sorts, date ranges and each resource's filters.

A list takes the date ranges its rows carry: refunds and transactions have no `updated_at`
(Shopify sends none), inventory levels no `created_at`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dashboard_api.csv_export import CsvFormatArgs
from dashboard_api.queries.lists import LISTINGS
from dashboard_api.views.data.fields import IdString, Instant, no_nul

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
RANGES = ("created_at", "updated_at", "processed_at")


def _instant(description: str) -> Instant:
    return Instant(metadata={"description": f"{description} (ISO 8601; no offset means UTC)"})


def sort_field(resource: str) -> fields.String:
    listing = LISTINGS[resource]
    names = list(listing.sorts)
    choices = [*names, *(f"-{n}" for n in names)]
    return fields.String(
        load_default=listing.default_sort,
        validate=validate.OneOf(choices),
        metadata={"description": "Sort field; a leading `-` sorts descending."},
    )


class PageArgs(CsvFormatArgs):
    """Pagination, the answer's format, and the check that no range ends before it starts."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Page size, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        validate=[validate.Length(max=2000), no_nul],
        metadata={"description": "`next_cursor` of the previous page, with the same sort."},
    )

    @validates_schema
    def _ranges(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems = {}
        for prefix in RANGES:
            low, high = data.get(f"{prefix}_min"), data.get(f"{prefix}_max")
            if low is not None and high is not None and low > high:
                problems[f"{prefix}_max"] = [f"Must not be before {prefix}_min."]
        if problems:
            raise ValidationError(problems)


class CreatedRange(Schema):
    created_at_min = _instant("Created at or after")
    created_at_max = _instant("Created at or before")


class UpdatedRange(Schema):
    updated_at_min = _instant("Updated at or after")
    updated_at_max = _instant("Updated at or before")


class ProcessedRange(Schema):
    processed_at_min = _instant("Processed at or after")
    processed_at_max = _instant("Processed at or before")


class ListArgs(PageArgs, CreatedRange, UpdatedRange):
    """Pagination and the date filters most lists have."""


def _choice(values: list[str], description: str) -> fields.String:
    return fields.String(validate=validate.OneOf(values), metadata={"description": description})


def _text(description: str) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=255), no_nul], metadata={"description": description}
    )


class CustomerArgs(ListArgs):
    sort = sort_field("customers")
    q = fields.String(
        validate=[validate.Length(min=1, max=200), no_nul],
        metadata={"description": "Case-insensitive substring of the email or the full name."},
    )


class ProductArgs(ListArgs):
    sort = sort_field("products")
    status = _choice(["active", "archived", "draft"], "Product status.")
    vendor = _text("Vendor (case-insensitive, exact).")
    product_type = _text("Product type (case-insensitive, exact).")


FINANCIAL = ["pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded",
             "voided", "expired"]  # fmt: skip
FULFILLMENT = ["fulfilled", "partial", "restocked", "unfulfilled"]


class OrderArgs(ListArgs, ProcessedRange):
    sort = sort_field("orders")
    financial_status = _choice(FINANCIAL, "Financial status.")
    fulfillment_status = _choice(
        FULFILLMENT, "Fulfillment status; `unfulfilled` matches orders with nothing fulfilled."
    )
    customer_id = IdString(metadata={"description": "Orders of this customer (Shopify id)."})
    channel = _text(
        "Sales channel: the order's `source_name` (case-insensitive, exact), e.g. `web`."
    )
    customer_type = _choice(
        ["new", "returning"],
        "`new`: the customer's first order (not test, not deleted); `returning`: a later one. "
        "Guest and test orders are neither.",
    )
    product_type = _text("Orders with a line of a product of this type (case-insensitive).")
    vendor = _text("Orders with a line of a product of this vendor (case-insensitive).")
    customer_tag = _text("Orders of a customer with this tag (case-insensitive).")


class CheckoutArgs(ListArgs):
    sort = sort_field("checkouts")
    status = _choice(["open", "abandoned", "completed", "recovered"], "Checkout status.")


class CartArgs(ListArgs):
    sort = sort_field("carts")
    status = _choice(["open", "abandoned", "converted"], "Cart status.")


def _of_order(what: str) -> IdString:
    return IdString(metadata={"description": f"{what} of this order (Shopify id)."})


class RefundArgs(PageArgs, CreatedRange, ProcessedRange):
    sort = sort_field("refunds")
    order_id = _of_order("Refunds")


# REST's kinds and statuses, and the Admin API's (lower-cased) besides.
KINDS = ["authorization", "capture", "sale", "void", "refund", "change", "emv_authorization",
         "suggested_refund"]  # fmt: skip
STATUSES = ["pending", "failure", "success", "error", "awaiting_response", "unknown"]


class TransactionArgs(PageArgs, CreatedRange, ProcessedRange):
    sort = sort_field("transactions")
    order_id = _of_order("Transactions")
    kind = _choice(KINDS, "Transaction kind.")
    status = _choice(STATUSES, "Transaction status.")
    gateway = _text("Payment gateway (case-insensitive, exact), e.g. `shopify_payments`.")


FULFILLMENT_STATUSES = ["pending", "open", "success", "cancelled", "error", "failure"]
SHIPMENT_STATUSES = ["label_printed", "label_purchased", "attempted_delivery", "ready_for_pickup",
                     "picked_up", "confirmed", "in_transit", "out_for_delivery", "delivered",
                     "delayed", "carrier_picked_up", "failure"]  # fmt: skip


class FulfillmentArgs(ListArgs):
    sort = sort_field("fulfillments")
    order_id = _of_order("Fulfillments")
    status = _choice(FULFILLMENT_STATUSES, "Fulfillment status.")
    shipment_status = _choice(SHIPMENT_STATUSES, "The carrier's last shipment status.")


class InventoryItemArgs(ListArgs):
    sort = sort_field("inventory-items")
    sku = _text("SKU (exact).")
    tracked = fields.Boolean(
        metadata={"description": "Whether Shopify tracks the item's inventory (true or false)."}
    )


class InventoryLevelArgs(PageArgs, UpdatedRange):
    sort = sort_field("inventory-levels")
    inventory_item_id = IdString(metadata={"description": "Levels of this inventory item."})
    location_id = IdString(metadata={"description": "Levels at this location."})
