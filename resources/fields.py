"""Marshmallow field types of Shopify payloads, and the conversions they share with GraphQL.

Payload schemas declare only the fields cartwheel keeps as columns; everything else stays in the
JSONB payload. Unknown fields are ignored, so new Shopify API versions do not break ingestion.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

BIGINT_MAX = 2**63 - 1
MONEY_LIMIT = Decimal(10) ** 16  # NUMERIC(20, 4) holds 16 digits before the point


class ShopifyId(fields.Integer):
    """A 64-bit Shopify id: a JSON integer (never a float, which would have lost digits)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, validate=validate.Range(1, BIGINT_MAX), **kwargs)


def to_timestamp(value: Any) -> datetime:
    """RFC 3339 text with any offset (or Z, or nanoseconds) as an aware datetime; naive is UTC."""
    if not isinstance(value, str):
        raise ValidationError("Not a timestamp string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"Not an ISO 8601 timestamp: {value[:40]!r}.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_money(value: Any) -> Decimal:
    """Shopify money, a decimal string such as "404.95" (numbers accepted too), kept exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError("Not a money amount.")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(f"Not a money amount: {str(value)[:40]!r}.") from exc
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise ValidationError("Money amount out of range.")
    return amount


class Amounts(NamedTuple):
    """One amount in shop money and in the buyer's (presentment) money; either may be unknown."""

    shop: Decimal | None
    presentment: Decimal | None


def _bag_amount(bag: Any) -> Decimal | None:
    if bag is None:
        return None
    if not isinstance(bag, dict):
        raise ValidationError("Not a money object.")
    amount = bag.get("amount")
    return None if amount is None else to_money(amount)


def to_amounts(value: Any) -> Amounts:
    """A Shopify money set, `{"shop_money": {"amount": ...}, "presentment_money": {...}}`."""
    if not isinstance(value, dict):
        raise ValidationError("Not a money set.")
    return Amounts(
        _bag_amount(value.get("shop_money")), _bag_amount(value.get("presentment_money"))
    )


def to_id(value: Any) -> int:
    """A Shopify id sent as a JSON integer or, in a few places (duties), as a digit string."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or not 0 < value <= BIGINT_MAX:
        raise ValidationError("Not a Shopify id.")
    return value


class Timestamp(fields.Field):
    """A Shopify timestamp (see `to_timestamp`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return to_timestamp(value)


class Money(fields.Field):
    """A Shopify money amount (see `to_money`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return to_money(value)


class MoneySet(fields.Field):
    """A Shopify `*_set` money object (see `to_amounts`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Amounts:
        return to_amounts(value)


class LooseId(fields.Field):
    """A Shopify id as integer or digit string (see `to_id`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        return to_id(value)


def optional(field: fields.Field) -> fields.Field:
    """A field that may be missing or null (both load as None)."""
    field.allow_none = True
    field.load_default = None
    return field


def text(length: int | None = None) -> fields.Field:
    """Optional text, at most `length` characters when given."""
    return optional(fields.String(validate=validate.Length(max=length) if length else None))


def money_set() -> fields.Field:
    """An optional `*_set` money object."""
    return optional(MoneySet())


def shop_money(values: dict[str, Any], name: str) -> Decimal | None:
    """The shop amount of `name`: the plain field (Shopify's are in shop money), else the shop
    amount of its `name_set`."""
    plain = values.get(name)
    if plain is not None:
        return plain
    amounts = values.get(f"{name}_set")
    return None if amounts is None else amounts.shop


def presentment_money(values: dict[str, Any], name: str) -> Decimal | None:
    """The buyer-currency amount of `name` (from `name_set`), or None."""
    amounts = values.get(f"{name}_set")
    return None if amounts is None else amounts.presentment


def nested_list(schema: type[Schema]) -> fields.Field:
    """A list of objects that may be missing or null (both load as an empty list)."""
    return fields.List(fields.Nested(schema), load_default=list, allow_none=True)


class Payload(Schema):
    """Base of every payload schema: unknown fields are kept in the JSONB payload, not here."""

    class Meta:
        unknown = EXCLUDE


class Versioned(Payload):
    """A payload with Shopify's `updated_at`, the first half of last-writer-wins."""

    updated_at = optional(Timestamp())


class EmbeddedCustomer(Payload):
    """The customer inside an order or checkout: itself a version of that customer."""

    id = ShopifyId(required=True)
    updated_at = optional(Timestamp())
    email = text(320)
    first_name = text()
    last_name = text()
    phone = text(64)


class DeletePayload(Payload):
    """customers/, products/, orders/ and checkouts/delete carry the numeric id; checkouts/delete
    also the cart token."""

    id = ShopifyId(required=True)
    cart_token = text(255)


def normalize_token(token: str | None) -> str | None:
    """Cart/checkout tokens may carry a `?key=...` suffix; join on the part before it."""
    if not token:
        return None
    return token.split("?", 1)[0] or None
