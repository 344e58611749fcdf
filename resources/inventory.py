"""Inventory: `inventory_items/*` (unit costs, with the history of costs) and
`inventory_levels/*` (units available per item and location)."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from models import InventoryItem, InventoryItemCost, InventoryLevel
from models.base import table_of
from resources import graphql as gql
from resources.fields import Money, Payload, ShopifyId, Timestamp, Versioned, optional, text
from resources.registry import Connection, Embedded, Pull, PullContext, Pulled, Resource


class CostVersion(Versioned):
    inventory_item_id = ShopifyId(required=True)
    recorded_at = Timestamp(required=True)
    cost = optional(Money())


COSTS = Resource(
    name="inventory_item_costs",
    table=table_of(InventoryItemCost),
    key=("inventory_item_id", "recorded_at"),
    payload_key=("inventory_item_id", "recorded_at"),
    schema=CostVersion(),
    columns=("cost",),
)


class InventoryItemPayload(Versioned):
    id = ShopifyId(required=True)
    sku = text()
    cost = optional(Money())  # a decimal string in shop money, null when not recorded
    tracked = optional(fields.Boolean())
    requires_shipping = optional(fields.Boolean())
    country_code_of_origin = text(8)
    harmonized_system_code = text(32)
    created_at = optional(Timestamp())


def derive_item(values: dict[str, Any]) -> dict[str, Any]:
    """Each version of an item also records the cost it had from that moment."""
    at = values.get("updated_at") or values.get("created_at")
    values["cost_version"] = (
        {
            "inventory_item_id": values["id"],
            "recorded_at": at,
            "cost": values.get("cost"),
            "updated_at": at,
        }
        if at is not None
        else None
    )
    return values


ITEM_COLUMNS = (
    "sku", "cost", "tracked", "requires_shipping", "country_code_of_origin",
    "harmonized_system_code", "created_at",
)  # fmt: skip


def map_item(node: dict[str, Any], levels: list[dict[str, Any]], context: PullContext) -> Pulled:
    """An InventoryItem node and its InventoryLevel nodes -> an inventory_items row, the cost
    version it records (as `derive_item` records it for webhooks) and its levels.

    A level of an untracked item has no units available to REST (null), whatever the Admin
    API counts.
    """
    item_id = gql.numeric_id(node.get("id"))
    updated, created = gql.time(node.get("updatedAt")), gql.time(node.get("createdAt"))
    cost = gql.decimal((node.get("unitCost") or {}).get("amount"))
    values = {
        "sku": node.get("sku"),
        "cost": cost,
        "tracked": node.get("tracked"),
        "requires_shipping": node.get("requiresShipping"),
        "country_code_of_origin": node.get("countryCodeOfOrigin"),
        "harmonized_system_code": node.get("harmonizedSystemCode"),
        "created_at": created,
        "updated_at": updated,
    }
    embedded = []
    at = updated or created
    if at is not None:
        embedded.append(
            gql.pulled_version(COSTS, context, (item_id, at), {"cost": cost}, updated_at=at)
        )
    for level in levels:
        quantity = next(
            (q.get("quantity") for q in gql.items(level.get("quantities"))
             if q.get("name") == "available"),
            None,
        )  # fmt: skip
        embedded.append(
            gql.pulled_version(
                LEVELS,
                context,
                (item_id, gql.numeric_id((level.get("location") or {}).get("id"))),
                {"available": quantity if node.get("tracked") else None},
                updated_at=gql.time(level.get("updatedAt")),
                payload=level,
            )
        )
    return Pulled(item_id, values, None, embedded)


ITEMS = Resource(
    name="inventory_items",
    table=table_of(InventoryItem),
    key="shopify_id",
    payload_key="id",
    schema=InventoryItemPayload(),
    derive=derive_item,
    columns=ITEM_COLUMNS,
    topics=("inventory_items/create", "inventory_items/update"),
    delete_topic="inventory_items/delete",
    facts=("created_at",),
    embedded=(Embedded("cost_version", COSTS),),
    # A level is an item's stock at one location: the Admin API has them only under their item.
    pull=Pull(
        connection="inventoryItems",
        gid_type="InventoryItem",
        fields="id sku tracked requiresShipping unitCost { amount currencyCode } "
        "countryCodeOfOrigin harmonizedSystemCode createdAt updatedAt",
        map_node=map_item,
        connections=(
            Connection(
                "inventoryLevels",
                'id location { id } quantities(names: ["available"]) { name quantity } updatedAt',
                types=("InventoryLevel",),
                page=10,
                rest=250,
            ),
        ),
        page_size=25,
        single="inventoryItem",
        sort_key=None,  # inventoryItems takes no sortKey
    ),
)


class LevelPayload(Versioned):
    inventory_item_id = ShopifyId(required=True)
    location_id = ShopifyId(required=True)
    available = optional(fields.Integer(strict=True))  # null: the item is not tracked


class LevelDeletePayload(Payload):
    inventory_item_id = ShopifyId(required=True)
    location_id = ShopifyId(required=True)


LEVELS = Resource(
    name="inventory_levels",
    table=table_of(InventoryLevel),
    key=("inventory_item_id", "location_id"),
    payload_key=("inventory_item_id", "location_id"),
    schema=LevelPayload(),
    columns=("available",),
    topics=("inventory_levels/connect", "inventory_levels/update"),
    # An item no longer stocked at a location.
    delete_topic="inventory_levels/disconnect",
    delete_schema=LevelDeletePayload(),
)
