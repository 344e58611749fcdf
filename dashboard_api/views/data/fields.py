"""Field types of the data endpoints: ids, money, exact decimals and instants.

Shopify ids are 64-bit and pass 2**53, where JavaScript numbers lose digits, so every id is a
JSON string of digits. Money is a decimal string ("404.95"), never a float: in the shop currency,
or in the buyer's (the order's `presentment_currency`) where the field ends in `_presentment`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

BIGINT_MAX = 2**63 - 1


def no_nul(value: str) -> None:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


def text_argument(description: str) -> fields.String:
    """A free-text query argument: 1 to 255 characters, no NUL."""
    return fields.String(
        validate=[validate.Length(min=1, max=255), no_nul], metadata={"description": description}
    )


def money_text(value: Decimal | int | None) -> str | None:
    """Exact decimal text with at least two places: 12.5000 -> "12.50", 0.1250 -> "0.125"."""
    if value is None:
        return None
    amount = Decimal(value)
    cents = amount.quantize(Decimal("0.01"))
    return str(cents) if cents == amount else format(amount.normalize(), "f")


def decimal_text(value: Decimal | int | None) -> str | None:
    """Exact decimal text without trailing zeros: 0.130000 -> "0.13", 10.0000 -> "10"."""
    if value is None:
        return None
    return format(Decimal(value).normalize(), "f")


class Money(fields.String):
    """Exact decimal amount as a string."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return money_text(value)


class Rate(fields.String):
    """An exact decimal that is not money (a tax rate: "0.13") as a string."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return decimal_text(value)


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


# Field builders the entity schemas share.


def id_field(description: str = "Shopify id (string of digits)") -> IdString:
    """The row's own Shopify id (its `shopify_id` column)."""
    return IdString(attribute="shopify_id", metadata={"description": description})


def ref_field(description: str) -> IdString:
    """The Shopify id of another row, or null."""
    return IdString(allow_none=True, metadata={"description": description})


def ids_field(description: str) -> fields.List:
    return fields.List(IdString(), metadata={"description": description})


def money_field(description: str | None = None) -> Money:
    return Money(allow_none=True, metadata={"description": description} if description else {})


def presentment_field(of: str = "the amount beside it") -> Money:
    return money_field(f"{of[0].upper()}{of[1:]} in the presentment (buyer's) currency.")


def many(schema: type[Schema], description: str | None = None) -> fields.List:
    return fields.List(
        fields.Nested(schema), metadata={"description": description} if description else {}
    )
