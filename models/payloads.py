"""Marshmallow schemas for Shopify webhook payloads: JSON dict in, typed column values out.

Only the fields cartwheel keeps as columns are declared; everything else stays in the JSONB
payload. Unknown fields are ignored, so new Shopify API versions do not break ingestion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

BIGINT_MAX = 2**63 - 1


class ShopifyId(fields.Integer):
    """A 64-bit Shopify id: a JSON integer (never a float, which would have lost digits)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(1, BIGINT_MAX), **kwargs)


class Timestamp(fields.Field):
    """RFC 3339 timestamp with any offset (or Z, or nanoseconds); naive values are UTC."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError("Not a timestamp string.")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(f"Not an ISO 8601 timestamp: {value[:40]!r}.") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Money(fields.Field):
    """Shopify money: a decimal string such as "404.95" (numbers accepted too), kept exact."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("Not a money amount.")
        try:
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValidationError(f"Not a money amount: {str(value)[:40]!r}.") from exc
        if not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
            raise ValidationError("Money amount out of range.")
        return amount


def _opt(field: fields.Field) -> fields.Field:
    field.allow_none = True
    field.load_default = None
    return field


def _text(length: int | None = None) -> fields.Field:
    return _opt(fields.String(validate=validate.Length(max=length) if length else None))


class _Base(Schema):
    class Meta:
        unknown = EXCLUDE

    updated_at = _opt(Timestamp())


class CustomerPayload(_Base):
    id = ShopifyId(required=True)
    email = _text(320)
    first_name = _text()
    last_name = _text()
    phone = _text(64)
    state = _text(32)
    currency = _text(8)
    created_at = _opt(Timestamp())


class VariantPayload(Schema):
    class Meta:
        unknown = EXCLUDE

    id = ShopifyId(required=True)
    title = _text()
    sku = _text()
    price = _opt(Money())
    compare_at_price = _opt(Money())
    inventory_quantity = _opt(fields.Integer(strict=True))
    updated_at = _opt(Timestamp())


class ProductPayload(_Base):
    id = ShopifyId(required=True)
    title = _text()
    handle = _text()
    vendor = _text()
    product_type = _text()
    status = _text(32)
    created_at = _opt(Timestamp())
    published_at = _opt(Timestamp())
    variants = fields.List(fields.Nested(VariantPayload), load_default=list, allow_none=True)

    @post_load
    def _price(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["variants"] = data.get("variants") or []
        prices = [v["price"] for v in data["variants"] if v.get("price") is not None]
        data["price"] = min(prices) if prices else None
        return data


class LineItemPayload(Schema):
    class Meta:
        unknown = EXCLUDE

    id = ShopifyId(required=True)
    product_id = _opt(ShopifyId())
    variant_id = _opt(ShopifyId())
    sku = _text()
    title = _text()
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(0, 2**31 - 1))
    current_quantity = _opt(fields.Integer(strict=True))
    price = _opt(Money())


class EmbeddedCustomer(Schema):
    class Meta:
        unknown = EXCLUDE

    id = ShopifyId(required=True)
    updated_at = _opt(Timestamp())
    email = _text(320)
    first_name = _text()
    last_name = _text()
    phone = _text(64)


class RefundTransaction(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = _text()
    status = _text()
    amount = _opt(Money())


class RefundPayload(Schema):
    class Meta:
        unknown = EXCLUDE

    transactions = fields.List(fields.Nested(RefundTransaction), load_default=list)


class OrderPayload(_Base):
    id = ShopifyId(required=True)
    name = _text(64)
    order_number = _opt(fields.Integer(strict=True))
    email = _text(320)
    customer = _opt(fields.Nested(EmbeddedCustomer))
    financial_status = _text(32)
    fulfillment_status = _text(32)
    currency = _text(8)
    total_price = _opt(Money())
    subtotal_price = _opt(Money())
    total_tax = _opt(Money())
    total_discounts = _opt(Money())
    current_total_price = _opt(Money())
    cancel_reason = _text(32)
    cart_token = _text(255)
    checkout_token = _text(255)
    checkout_id = _opt(ShopifyId())
    source_name = _text(64)
    test = _opt(fields.Boolean())
    created_at = _opt(Timestamp())
    processed_at = _opt(Timestamp())
    cancelled_at = _opt(Timestamp())
    closed_at = _opt(Timestamp())
    line_items = fields.List(fields.Nested(LineItemPayload), load_default=list, allow_none=True)
    refunds = fields.List(fields.Nested(RefundPayload), load_default=list, allow_none=True)

    @post_load
    def _derive(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["line_items"] = data.get("line_items") or []
        data["total_refunded"] = sum(
            (
                t["amount"]
                for r in data.pop("refunds", None) or []
                for t in r["transactions"]
                if t.get("kind") == "refund" and t.get("status") == "success" and t.get("amount")
            ),
            Decimal(0),
        )
        customer = data.get("customer")
        data["customer_id"] = customer["id"] if customer else None
        return data


class CartLinePayload(Schema):
    class Meta:
        unknown = EXCLUDE

    quantity = fields.Integer(strict=True, load_default=0)
    line_price = _opt(Money())


class CartPayload(_Base):
    token = fields.String(required=True, validate=validate.Length(min=1, max=255))
    created_at = _opt(Timestamp())
    line_items = fields.List(fields.Nested(CartLinePayload), load_default=list, allow_none=True)

    @post_load
    def _totals(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        lines = data.pop("line_items", None) or []
        data["item_count"] = sum(line["quantity"] for line in lines)
        data["total_price"] = sum(
            (line["line_price"] for line in lines if line.get("line_price") is not None),
            Decimal(0),
        )
        return data


class CheckoutPayload(_Base):
    token = fields.String(required=True, validate=validate.Length(min=1, max=255))
    id = _opt(ShopifyId())
    cart_token = _text(255)
    email = _text(320)
    customer = _opt(fields.Nested(EmbeddedCustomer))
    currency = _text(8)
    total_price = _opt(Money())
    subtotal_price = _opt(Money())
    created_at = _opt(Timestamp())
    completed_at = _opt(Timestamp())

    @post_load
    def _customer(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        customer = data.pop("customer", None)
        data["customer_id"] = customer["id"] if customer else None
        return data


class DeletePayload(Schema):
    """customers/, products/, orders/ and checkouts/delete carry the numeric id."""

    class Meta:
        unknown = EXCLUDE

    id = ShopifyId(required=True)


UPSERT_SCHEMAS: dict[str, Schema] = {
    "customers": CustomerPayload(),
    "products": ProductPayload(),
    "orders": OrderPayload(),
    "carts": CartPayload(),
    "checkouts": CheckoutPayload(),
}
DELETE_SCHEMA = DeletePayload()


def normalize_token(token: str | None) -> str | None:
    """Cart/checkout tokens may carry a `?key=...` suffix; join on the part before it."""
    if not token:
        return None
    return token.split("?", 1)[0] or None
