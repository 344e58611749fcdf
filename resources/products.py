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
from resources.registry import Children, Connection, Pull, PullContext, Pulled, Resource

VARIANT_COLUMNS = (
    "title", "sku", "price", "compare_at_price", "inventory_quantity", "inventory_item_id",
    "updated_at",
)  # fmt: skip


class VariantPayload(Payload):
    id = ShopifyId(required=True)
    title = text()
    sku = text()
    price = optional(Money())
    compare_at_price = optional(Money())
    inventory_quantity = optional(fields.Integer(strict=True))
    inventory_item_id = optional(ShopifyId())
    updated_at = optional(Timestamp())


class VariantGid(Payload):
    admin_graphql_api_id = text()


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
    # Every variant's id (API 2024-04 on): webhooks carry only the first 100 variants in full.
    variant_gids = optional(fields.List(fields.Nested(VariantGid)))


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """A product's price is its cheapest carried variant's. Variants named in `variant_gids` but
    not carried stay as stored, and the product is partial until the Admin API fills them in."""
    values["variants"] = values.get("variants") or []
    prices = [v["price"] for v in values["variants"] if v.get("price") is not None]
    values["price"] = min(prices) if prices else None
    carried = {v["id"] for v in values["variants"]}
    named = {_variant_id(g) for g in values.pop("variant_gids", None) or ()} - {None}
    missing = named - carried
    values["variants_partial"] = bool(missing)
    if missing:
        values["kept_children"] = {"variants": missing}
    return values


def _variant_id(gid: dict[str, Any]) -> int | None:
    try:
        return gql.numeric_id(gid.get("admin_graphql_api_id"))
    except gql.MappingError:
        return None


def refresh(values: dict[str, Any]) -> tuple[str, Any] | None:
    """A partial product is read again, all its variants, through the Admin API."""
    return ("products", values["id"]) if values.get("variants_partial") else None


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
            "inventory_item_id": gql.ref(v.get("inventoryItem")),
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
        "variants_partial": False,
        "updated_at": gql.time(node.get("updatedAt")),
    }
    return Pulled(gql.numeric_id(node.get("id")), values, {"variants": variants})


COLUMNS = (
    "title", "handle", "vendor", "product_type", "status", "price", "created_at",
    "published_at", "variants_partial",
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
    refresh=refresh,
    pull=Pull(
        connection="products",
        fields="id title handle vendor productType status createdAt updatedAt publishedAt",
        map_node=map_product,
        gid_type="Product",
        connections=(
            Connection(
                "variants",
                "id title sku price compareAtPrice inventoryQuantity updatedAt "
                "inventoryItem { id }",
                types=("ProductVariant",),
                page=50,
                rest=250,
            ),
        ),
        page_size=8,
        single="product",
    ),
)
