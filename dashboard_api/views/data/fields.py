"""Field types of the data endpoints: ids, money, exact decimals and instants.

Shopify ids are 64-bit and pass 2**53, where JavaScript numbers lose digits, so every id is a
JSON string of digits. Money is a decimal string ("404.95"), never a float: in the shop currency,
or in the buyer's (the order's `presentment_currency`) where the field ends in `_presentment`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, missing, validate

from dashboard_api.queries.sales import JsonRows

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
    if isinstance(value, Decimal | str):
        # The same by text alone, where it is plain digits: "12.3450" -> "12.345".
        whole, dot, places = str(value).partition(".")
        if dot and "E" not in places and "e" not in places:
            return f"{whole}.{places.rstrip('0').ljust(2, '0')}"
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


class Rows(fields.List):
    """A list of flat rows of one schema (its fields plain values, no hooks), as
    `fields.List(fields.Nested(schema))` dumps it and documented the same, but dumped by a
    plan built once from the schema's own fields: a report of a thousand days is then
    serialized in a few milliseconds instead of a hundred. Rows of any other schema are dumped
    by marshmallow as usual."""

    def __init__(self, schema: type[Schema], **kwargs: Any) -> None:
        super().__init__(fields.Nested(schema), **kwargs)
        self._plan: list[_Step] | None = None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, JsonRows):
            return list(value)
        plan = self._row_plan()
        if value is None or plan is None:
            return super()._serialize(value, attr, obj, **kwargs)
        sources = {source for _, source, _, _ in plan}
        return [
            # A dict with every key: one comprehension; anything else field by field.
            {key: convert(row[source]) for key, source, convert, _ in plan}
            if isinstance(row, dict) and sources <= row.keys()
            else _dump_row(plan, row)
            for row in value
        ]

    def _row_plan(self) -> list[_Step] | None:
        if self._plan is None:
            schema = self.inner.schema  # type: ignore[attr-defined]
            hooked = bool(schema._hooks.get("pre_dump") or schema._hooks.get("post_dump"))
            plan = []
            for name, field in schema.dump_fields.items():
                source = field.attribute or name
                if hooked or isinstance(field, _COMPOSITE) or "." in source:
                    self._plan = []
                    break
                plan.append((field.data_key or name, source, _converter(field, source), field))
            else:
                self._plan = plan
        return self._plan or None


# (output key, source key, value converter, the field)
_Step = tuple[str, str, Callable[[Any], Any], fields.Field]


def _converter(field: fields.Field, source: str) -> Callable[[Any], Any]:
    """The field's own conversion of a value (money directly: the most common one)."""
    if type(field)._serialize is Money._serialize:
        return money_text
    serialize = field._serialize
    return lambda value: serialize(value, source, None)


_COMPOSITE = (fields.Nested, fields.List, fields.Dict, fields.Tuple, fields.Method, fields.Function)


def _dump_row(plan: list[_Step], row: Any) -> dict[str, Any]:
    out = {}
    for key, source, convert, field in plan:
        value = row.get(source, missing) if isinstance(row, dict) else getattr(row, source, missing)
        if value is missing:
            default = field.dump_default
            value = default() if callable(default) else default
            if value is missing:
                continue
        out[key] = convert(value)
    return out
