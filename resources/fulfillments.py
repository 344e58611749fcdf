"""Fulfillments: `fulfillments/create|update`, and the fulfillments inside order payloads."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from models import Fulfillment, FulfillmentLineItem
from models.base import table_of
from resources import graphql as gql
from resources.fields import Payload, ShopifyId, Timestamp, Versioned, nested_list, optional, text
from resources.registry import Children, Connection, Nested, PullContext, Resource
from resources.rows import EntityRow


class FulfilledLine(Payload):
    id = ShopifyId(required=True)
    quantity = optional(fields.Integer(strict=True))


def _texts() -> fields.Field:
    return optional(fields.List(optional(fields.String())))


class FulfillmentPayload(Versioned):
    id = ShopifyId(required=True)
    order_id = optional(ShopifyId())
    name = text(64)
    status = text(32)
    shipment_status = text(32)
    service = text()
    tracking_company = text()
    tracking_numbers = _texts()
    tracking_urls = _texts()
    location_id = optional(ShopifyId())
    created_at = optional(Timestamp())
    line_items = nested_list(FulfilledLine)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """The fulfilled lines as (order line, quantity) children."""
    values["fulfilled_lines"] = [
        {"line_item_id": line["id"], "quantity": line.get("quantity")}
        for line in values.pop("line_items", None) or ()
    ]
    for name in ("tracking_numbers", "tracking_urls"):
        values[name] = [t for t in values.get(name) or () if t] or None
    return values


# An order's fulfillments: Order.fulfillments is a list, their lines a connection, read by the
# fulfillments' ids (a fulfillment and its first 20 lines, 43 points: 20 a query).
NESTED = Nested(
    "fulfillments",
    "Fulfillment",
    fields="id name status createdAt updatedAt location { id } trackingInfo { company number url }",
    connections=(
        Connection(
            "fulfillmentLineItems",
            "id quantity lineItem { id }",
            types=("FulfillmentLineItem",),
            page=20,
            rest=250,
        ),
    ),
    batch=20,
)


def map_fulfillment(node: dict[str, Any], context: PullContext, *, order_id: int) -> EntityRow:
    """A Fulfillment node (its lines read) -> a fulfillments row with its fulfilled lines.

    The Admin API has no shipment status or service name: those keep what a webhook wrote.
    """
    tracking = gql.items(node.get("trackingInfo"))
    values = {
        "order_id": order_id,
        "name": node.get("name"),
        "status": gql.lower(node.get("status")),
        "tracking_company": tracking[0].get("company") if tracking else None,
        "tracking_numbers": [t["number"] for t in tracking if t.get("number")] or None,
        "tracking_urls": [t["url"] for t in tracking if t.get("url")] or None,
        "location_id": gql.ref(node.get("location")),
        "created_at": gql.time(node.get("createdAt")),
    }
    lines = [
        {
            "position": i,
            "line_item_id": gql.ref(line.get("lineItem")),
            "quantity": line.get("quantity"),
        }
        for i, line in enumerate(gql.items(node.get("fulfillmentLineItems")))
    ]
    return gql.pulled_version(
        RESOURCE,
        context,
        gql.numeric_id(node.get("id")),
        values,
        updated_at=gql.time(node.get("updatedAt")),
        payload=node,
        children={"fulfilled_lines": lines},
    )


COLUMNS = (
    "order_id", "name", "status", "shipment_status", "service", "tracking_company",
    "tracking_numbers", "tracking_urls", "location_id", "created_at",
)  # fmt: skip

RESOURCE = Resource(
    name="fulfillments",
    table=table_of(Fulfillment),
    key="shopify_id",
    payload_key="id",
    schema=FulfillmentPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=("fulfillments/create", "fulfillments/update"),
    children=(
        Children(
            table_of(FulfillmentLineItem),
            "fulfillment_id",
            field="fulfilled_lines",
            columns=("line_item_id", "quantity"),
            key="position",
        ),
    ),
)
