"""Order transactions: `order_transactions/create`, and the transactions inside refunds."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from models import OrderTransaction
from models.base import table_of
from resources import graphql as gql
from resources.fields import Money, ShopifyId, Timestamp, Versioned, optional, text
from resources.registry import PullContext, Resource
from resources.rows import EntityRow


class TransactionPayload(Versioned):
    id = ShopifyId(required=True)
    order_id = optional(ShopifyId())
    refund_id = optional(ShopifyId())
    parent_id = optional(ShopifyId())
    kind = text(32)
    status = text(32)
    gateway = text()
    amount = optional(Money())
    currency = text(8)
    error_code = text(64)
    source_name = text(64)
    test = optional(fields.Boolean())
    created_at = optional(Timestamp())
    processed_at = optional(Timestamp())


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """Webhooks carry the amount in the transaction's currency only: no shop amount."""
    values["amount_shop"] = None
    return values


# An OrderTransaction node (Order.transactions, a list: bulk operations can read it).
FIELDS = (
    f"id kind status gateway amountSet {gql.BAG} parentTransaction {{ id }} processedAt "
    "createdAt test errorCode"
)


def map_transaction(
    node: dict[str, Any], context: PullContext, *, order_id: int, refund_id: int | None
) -> EntityRow:
    """An OrderTransaction node -> an order_transactions row. As in webhooks, `amount` is in
    the transaction's (the buyer's) currency; the Admin API also says it in shop money. It has
    no source name (kept as a webhook wrote it) and no version of its own."""
    bag = node.get("amountSet")
    values = {
        "order_id": order_id,
        "refund_id": refund_id,
        "parent_id": gql.ref(node.get("parentTransaction")),
        "kind": gql.lower(node.get("kind")),
        "status": gql.lower(node.get("status")),
        "gateway": node.get("gateway"),
        "amount": gql.presentment(bag),
        "currency": gql.presentment_currency(bag),
        "amount_shop": gql.money(bag),
        "error_code": gql.lower(node.get("errorCode")),
        "test": node.get("test"),
        "created_at": gql.time(node.get("createdAt")),
        "processed_at": gql.time(node.get("processedAt")),
    }
    key = gql.numeric_id(node.get("id"))
    return gql.pulled_version(RESOURCE, context, key, values, updated_at=None, payload=node)


COLUMNS = (
    "order_id", "refund_id", "parent_id", "kind", "status", "gateway", "amount", "currency",
    "amount_shop", "error_code", "source_name", "test", "created_at", "processed_at",
)  # fmt: skip

RESOURCE = Resource(
    name="order_transactions",
    table=table_of(OrderTransaction),
    key="shopify_id",
    payload_key="id",
    schema=TransactionPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=("order_transactions/create",),
    # Shopify sends the same transaction again when its status changes, without updated_at:
    # the later delivery (X-Shopify-Triggered-At) wins. The amount in shop money, known only
    # from the Admin API, stays once known.
    sticky=("amount_shop", "refund_id"),
    # A pulled transaction has no version to win with, yet it is the only source of those two:
    # they fill in a stored row that lacks them.
    facts=("amount_shop", "refund_id"),
)
