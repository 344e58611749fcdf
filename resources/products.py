"""Products and their variants: `products/*` webhooks, /ingest, the Admin API's `products`."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from models import Product, ProductVariant
from models.base import table_of
from resources import graphql as gql
from resources.fields import (
    Money,
    Payload,
    ShopifyId,
    Timestamp,
    Versioned,
    nested_list,
    optional,
    text,
)
from resources.registry import Children, Pull, PullContext, Pulled, Resource

VARIANT_COLUMNS = ("title", "sku", "price", "compare_at_price", "inventory_quantity", "updated_at")


class VariantPayload(Payload):
    id = ShopifyId(required=True)
    title = text()
    sku = text()
    price = optional(Money())
    compare_at_price = optional(Money())
    inventory_quantity = optional(fields.Integer(strict=True))
    updated_at = optional(Timestamp())


class ProductPayload(Versioned):
    id = ShopifyId(required=True)
    title = text()
    handle = text()
    vendor = text()
    product_type = text()
    status = text(32)
    created_at = optional(Timestamp())
    published_at = optional(Timestamp())
    variants = nested_list(VariantPayload)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """A product's price is its cheapest variant's."""
    values["variants"] = values.get("variants") or []
    prices = [v["price"] for v in values["variants"] if v.get("price") is not None]
    values["price"] = min(prices) if prices else None
    return values


def map_product(
    node: dict[str, Any], children: list[dict[str, Any]], context: PullContext
) -> Pulled:
    """A Product node and its ProductVariant nodes -> products and product_variants rows."""
    variants = [
        {
            "shopify_id": gql.numeric_id(v["id"]),
            "title": v.get("title"),
            "sku": v.get("sku"),
            "price": gql.decimal(v.get("price")),
            "compare_at_price": gql.decimal(v.get("compareAtPrice")),
            "inventory_quantity": v.get("inventoryQuantity"),
            "updated_at": gql.time(v.get("updatedAt")),
        }
        for v in children
    ]
    prices = [v["price"] for v in variants if v["price"] is not None]
    values = {
        "title": node.get("title"),
        "handle": node.get("handle"),
        "vendor": node.get("vendor"),
        "product_type": node.get("productType"),
        "status": gql.lower(node.get("status")),
        "price": min(prices) if prices else None,
        "created_at": gql.time(node.get("createdAt")),
        "published_at": gql.time(node.get("publishedAt")),
        "updated_at": gql.time(node.get("updatedAt")),
    }
    return Pulled(gql.numeric_id(node.get("id")), values, {"variants": variants})


COLUMNS = (
    "title", "handle", "vendor", "product_type", "status", "price", "created_at",
    "published_at",
)  # fmt: skip


RESOURCE = Resource(
    name="products",
    table=table_of(Product),
    key="shopify_id",
    payload_key="id",
    schema=ProductPayload(),
    derive=derive,
    columns=COLUMNS,
    topics=("products/create", "products/update"),
    delete_topic="products/delete",
    children=(
        Children(table_of(ProductVariant), "product_id", field="variants", columns=VARIANT_COLUMNS),
    ),
    ingest_topic="products/update",
    pull=Pull(
        connection="products",
        fields="id title handle vendor productType status createdAt updatedAt publishedAt",
        map_node=map_product,
        child="variants",
        child_fields="id title sku price compareAtPrice inventoryQuantity updatedAt",
        page_size=15,
        child_page=50,
        single="product",
    ),
)
