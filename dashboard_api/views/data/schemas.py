"""Schemas of the data endpoints: query arguments in, entities out (they generate the OpenAPI).

Shopify ids are 64-bit and pass 2**53, where JavaScript numbers lose digits, so every id is a
JSON string of digits. Money is a decimal string in the shop currency ("404.95"), never a float.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dashboard_api.queries.lists import LISTINGS

MAX_LIMIT = 250
DEFAULT_LIMIT = 50
BIGINT_MAX = 2**63 - 1


def no_nul(value: str) -> None:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def money_text(value: Decimal | int | None) -> str | None:
    """Exact decimal text with at least two places: 12.5000 -> "12.50", 0.1250 -> "0.125"."""
    if value is None:
        return None
    amount = Decimal(value)
    cents = amount.quantize(Decimal("0.01"))
    return str(cents) if cents == amount else format(amount.normalize(), "f")


class Money(fields.String):
    """Exact decimal amount as a string."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return money_text(value)


class IdString(fields.String):
    """A Shopify id (64-bit) as a string of digits; accepts digits when loading."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(  # type: ignore[override]
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> int:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.isascii() or not text.isdigit() or int(text) > BIGINT_MAX:
            raise ValidationError("Not a Shopify id (digits, at most 2**63-1).")
        return int(text)


class Instant(fields.AwareDateTime):
    """An ISO 8601 instant, in UTC: PostgreSQL takes offsets up to 15:59, Python up to 23:59."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=UTC, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        instant = super()._deserialize(value, attr, data, **kwargs)
        try:
            return instant.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Out of range.") from exc


def _instant(description: str) -> Instant:
    return Instant(metadata={"description": f"{description} (ISO 8601; no offset means UTC)"})


def sort_field(resource: str) -> fields.String:
    names = list(LISTINGS[resource].sorts)
    choices = [*names, *(f"-{n}" for n in names)]
    return fields.String(
        load_default="-created_at",
        validate=validate.OneOf(choices),
        metadata={"description": "Sort field; a leading `-` sorts descending."},
    )


class ListArgs(Schema):
    """Pagination and the date filters every list has."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Page size, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        validate=[validate.Length(max=2000), no_nul],
        metadata={"description": "`next_cursor` of the previous page, with the same sort."},
    )
    created_at_min = _instant("Created at or after")
    created_at_max = _instant("Created at or before")
    updated_at_min = _instant("Updated at or after")
    updated_at_max = _instant("Updated at or before")

    @validates_schema
    def _ranges(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems = {}
        for prefix in ("created_at", "updated_at", "processed_at"):
            low, high = data.get(f"{prefix}_min"), data.get(f"{prefix}_max")
            if low is not None and high is not None and low > high:
                problems[f"{prefix}_max"] = [f"Must not be before {prefix}_min."]
        if problems:
            raise ValidationError(problems)


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


class OrderArgs(ListArgs):
    sort = sort_field("orders")
    processed_at_min = _instant("Processed at or after")
    processed_at_max = _instant("Processed at or before")
    financial_status = _choice(FINANCIAL, "Financial status.")
    fulfillment_status = _choice(
        FULFILLMENT, "Fulfillment status; `unfulfilled` matches orders with nothing fulfilled."
    )
    customer_id = IdString(metadata={"description": "Orders of this customer (Shopify id)."})


class CheckoutArgs(ListArgs):
    sort = sort_field("checkouts")
    status = _choice(["open", "abandoned", "completed", "recovered"], "Checkout status.")


class CartArgs(ListArgs):
    sort = sort_field("carts")
    status = _choice(["open", "abandoned", "converted"], "Cart status.")


def _id(description: str = "Shopify id (string of digits)") -> IdString:
    return IdString(attribute="shopify_id", metadata={"description": description})


def _ref(description: str) -> IdString:
    return IdString(allow_none=True, metadata={"description": description})


class Stamped(Schema):
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class CustomerOut(Stamped):
    id = _id()
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    orders_count = fields.Integer(metadata={"description": "Orders, cancelled ones included."})
    total_spent = Money(
        metadata={"description": "Sum of (total - refunded) over orders not cancelled."}
    )


class VariantOut(Schema):
    id = _id()
    title = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    price = Money(allow_none=True)
    compare_at_price = Money(allow_none=True)
    inventory_quantity = fields.Integer(allow_none=True)


class ProductOut(Stamped):
    id = _id()
    title = fields.String(allow_none=True)
    handle = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True)
    product_type = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    price = Money(allow_none=True, metadata={"description": "Lowest variant price."})
    published_at = fields.DateTime(allow_none=True)
    variants = fields.List(fields.Nested(VariantOut))


class LineItemOut(Schema):
    id = _id()
    product_id = _ref("Product (Shopify id)")
    variant_id = _ref("Variant (Shopify id)")
    sku = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    quantity = fields.Integer()
    current_quantity = fields.Integer(allow_none=True)
    price = Money(allow_none=True)


class OrderOut(Stamped):
    id = _id()
    name = fields.String(allow_none=True)
    order_number = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    customer_id = _ref("Customer (Shopify id)")
    financial_status = fields.String(allow_none=True)
    fulfillment_status = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    total_price = Money(allow_none=True)
    subtotal_price = Money(allow_none=True)
    total_tax = Money(allow_none=True)
    total_discounts = Money(allow_none=True)
    current_total_price = Money(allow_none=True)
    total_refunded = Money(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    cart_token = fields.String(allow_none=True)
    checkout_token = fields.String(allow_none=True)
    source_name = fields.String(allow_none=True)
    test = fields.Boolean(allow_none=True)
    processed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    line_items = fields.List(fields.Nested(LineItemOut))


class CheckoutOut(Stamped):
    token = fields.String()
    id = IdString(
        attribute="shopify_id", allow_none=True, metadata={"description": "Shopify id, if known"}
    )
    cart_token = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    customer_id = _ref("Customer (Shopify id)")
    status = fields.String(metadata={"description": "open, abandoned, completed or recovered"})
    currency = fields.String(allow_none=True)
    total_price = Money(allow_none=True)
    subtotal_price = Money(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    recovered_at = fields.DateTime(allow_none=True)


class CartOut(Stamped):
    token = fields.String()
    status = fields.String(metadata={"description": "open, abandoned or converted"})
    item_count = fields.Integer(allow_none=True)
    total_price = Money(allow_none=True)
    currency = fields.String(allow_none=True)
    abandoned_at = fields.DateTime(allow_none=True)
    converted_at = fields.DateTime(allow_none=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page schema: the items and the cursor of the next page (null on the last)."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                allow_none=True, required=True, metadata={"description": "Null on the last page."}
            ),
        },
        name=name,
    )
