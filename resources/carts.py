"""Carts: `carts/create|update` webhooks (Shopify has no cart deletion, no Admin API for carts)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

from models import Cart
from models.base import table_of
from resources.fields import (
    Money,
    Payload,
    Timestamp,
    Versioned,
    nested_list,
    normalize_token,
    optional,
)
from resources.registry import Resource


class CartLinePayload(Payload):
    quantity = fields.Integer(strict=True, load_default=0)
    line_price = optional(Money())


class CartPayload(Versioned):
    token = fields.String(required=True, validate=validate.Length(min=1, max=255))
    created_at = optional(Timestamp())
    line_items = nested_list(CartLinePayload)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """A cart's item count and total from its lines; its token without the `?key=` suffix."""
    lines = values.pop("line_items", None) or []
    values["item_count"] = sum(line["quantity"] for line in lines)
    values["total_price"] = sum(
        (line["line_price"] for line in lines if line.get("line_price") is not None), Decimal(0)
    )
    values["token"] = normalize_token(values["token"])
    return values


RESOURCE = Resource(
    name="carts",
    table=table_of(Cart),
    key="token",
    payload_key="token",
    schema=CartPayload(),
    derive=derive,
    columns=("item_count", "total_price", "created_at"),
    topics=("carts/create", "carts/update"),
    links={"carts": "token"},
)
