"""Checkouts: `checkouts/*` webhooks and the Admin API's `abandonedCheckouts`.

A checkout is keyed by its token; `checkouts/delete` names it by its numeric id, so deletions are
kept in checkout_tombstones until the row they name exists.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields, validate

from models import Checkout, CheckoutTombstone
from models.base import table_of
from resources import graphql as gql
from resources.fields import (
    EmbeddedCustomer,
    Money,
    ShopifyId,
    Timestamp,
    Versioned,
    normalize_token,
    optional,
    text,
)
from resources.registry import Deletes, Pull, PullContext, Pulled, Resource

_RECOVER = re.compile(r"/checkouts/([^/?#]+)/recover")


class CheckoutPayload(Versioned):
    token = fields.String(required=True, validate=validate.Length(min=1, max=255))
    id = optional(ShopifyId())
    cart_token = text(255)
    email = text(320)
    customer = optional(fields.Nested(EmbeddedCustomer))
    currency = text(8)  # the shop's
    presentment_currency = text(8)  # the buyer's, which the amounts below are in
    total_price = optional(Money())
    subtotal_price = optional(Money())
    created_at = optional(Timestamp())
    completed_at = optional(Timestamp())


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """The customer's id, the numeric id as `shopify_id`, tokens without their `?key=`, and
    money: a checkout's webhooks give its amounts in the buyer's currency only, which are shop
    money only when the buyer paid in the shop's currency."""
    buyer = values.get("presentment_currency") or values.get("currency")
    values["presentment_currency"] = buyer
    for name in ("total_price", "subtotal_price"):
        values[f"{name}_presentment"] = values.get(name)
        if buyer != values.get("currency"):
            values[name] = None
    customer = values.pop("customer", None)
    values["customer_id"] = customer["id"] if customer else None
    values["shopify_id"] = values.get("id")
    values["token"] = normalize_token(values["token"])
    values["cart_token"] = normalize_token(values.get("cart_token"))
    return values


def map_checkout(
    node: dict[str, Any], children: list[dict[str, Any]], context: PullContext
) -> Pulled:
    """An AbandonedCheckout node -> a checkouts row, keyed by the token in its recovery URL.

    The Admin API exposes no cart token or email: those columns keep what a webhook wrote.
    """
    found = _RECOVER.search(str(node.get("abandonedCheckoutUrl") or ""))
    token = normalize_token(found.group(1)) if found else None
    if not token:
        raise gql.MappingError("abandoned checkout without a recovery URL holding its token")
    total = node.get("totalPriceSet")
    values = {
        "shopify_id": gql.numeric_id(node.get("id")),
        "customer_id": gql.ref(node.get("customer")),
        "currency": gql.currency(total),
        "total_price": gql.money(total),
        "subtotal_price": gql.money(node.get("subtotalPriceSet")),
        "presentment_currency": gql.presentment_currency(total),
        "total_price_presentment": gql.presentment(total),
        "subtotal_price_presentment": gql.presentment(node.get("subtotalPriceSet")),
        "created_at": gql.time(node.get("createdAt")),
        "completed_at": gql.time(node.get("completedAt")),
        "updated_at": gql.time(node.get("updatedAt")),
    }
    return Pulled(token, values)


COLUMNS = (
    "shopify_id", "cart_token", "email", "customer_id", "currency", "total_price",
    "subtotal_price", "presentment_currency", "total_price_presentment",
    "subtotal_price_presentment", "created_at", "completed_at",
)  # fmt: skip


RESOURCE = Resource(
    name="checkouts",
    table=table_of(Checkout),
    key="token",
    payload_key="token",
    schema=CheckoutPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=("checkouts/create", "checkouts/update"),
    delete_topic="checkouts/delete",
    deletes=Deletes(("shopify_id", "cart_token"), table_of(CheckoutTombstone)),
    # Completion only ever becomes known: a later version without it keeps the stored time.
    # Shop money a webhook cannot know (a buyer in another currency) keeps what the Admin API
    # said.
    sticky=("completed_at", "total_price", "subtotal_price"),
    links={"checkouts": "token", "carts": "cart_token"},
    pull=Pull(
        connection="abandonedCheckouts",
        fields=f"id abandonedCheckoutUrl createdAt updatedAt completedAt "
        f"totalPriceSet {gql.BAG} subtotalPriceSet {gql.BAG} customer {{ id }}",
        map_node=map_checkout,
        gid_type="AbandonedCheckout",
        page_size=100,
    ),
)
