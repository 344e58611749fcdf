"""A product webhook with more than 100 variants: nothing lost, marked partial, then read whole
through the Admin API (the fake one) by the refresh job."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import redis
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core import jobs
from core.settings import Settings
from models import Product, ProductVariant
from models.db import session_scope
from tests.plugins.fake_admin import Wired
from tests.support.pipeline import drain_all
from tests.support.webhooks import Sender
from workers import runtime
from workers.runtime import Resources
from workers.sync.refresh import refresh_entity

PRODUCT = 8_800_000_000_000_123_456
VARIANTS = 130
UPDATED = "2026-05-01T00:00:00Z"


def _variant_id(n: int) -> int:
    return 8_900_000_000_000_100_000 + n


def _fake_product() -> dict[str, Any]:
    """The product as the Admin API has it: all its variants, each with its inventory item."""
    return {
        "__typename": "Product",
        "id": f"gid://shopify/Product/{PRODUCT}",
        "legacyResourceId": str(PRODUCT),
        "title": "Many sizes",
        "handle": "many-sizes",
        "vendor": "Fake Co",
        "productType": "Shirts",
        "status": "ACTIVE",
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": UPDATED,
        "publishedAt": "2026-01-01T00:00:00Z",
        "variants": [
            {
                "__typename": "ProductVariant",
                "id": f"gid://shopify/ProductVariant/{_variant_id(n)}",
                "legacyResourceId": str(_variant_id(n)),
                "title": f"Size {n}",
                "sku": f"SKU-{n}",
                "price": "15.00",
                "compareAtPrice": None,
                "inventoryQuantity": n,
                "updatedAt": UPDATED,
                "inventoryItem": {
                    "__typename": "InventoryItem",
                    "id": f"gid://shopify/InventoryItem/{7_000_000 + n}",
                },
            }
            for n in range(VARIANTS)
        ],
    }


def _webhook() -> dict[str, Any]:
    """The same product's products/update: the first 100 variants in full, the rest named."""
    return {
        "id": PRODUCT,
        "title": "Many sizes",
        "handle": "many-sizes",
        "vendor": "Fake Co",
        "product_type": "Shirts",
        "status": "active",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": UPDATED,
        "variants": [
            {"id": _variant_id(n), "product_id": PRODUCT, "title": f"Size {n}", "price": "15.00"}
            for n in range(100)
        ],
        "variant_gids": [
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{_variant_id(n)}",
                "updated_at": UPDATED,
            }
            for n in range(100, VARIANTS)
        ],
    }


def variants(settings: Settings) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(ProductVariant)) or 0


def product(settings: Settings) -> Product:
    with session_scope(settings.database_url) as s:
        [p] = s.scalars(select(Product))
        s.expunge(p)
        return p


def test_a_partial_product_is_read_whole_by_the_refresh_job(
    wire_shop: Callable[..., Wired],
    client: FlaskClient,
    settings: Settings,
    redis_client: redis.Redis,
) -> None:
    wired = wire_shop()
    wired.shop.nodes["Product"][f"gid://shopify/Product/{PRODUCT}"] = _fake_product()
    sender = Sender(client, shop=wired.shop.domain, secret=wired.secret)
    assert sender.send("products/update", _webhook()).status_code == 200
    drain_all(settings)
    assert (variants(settings), product(settings).variants_partial) == (100, True)
    mark = f"{settings.namespace}:refresh:{wired.tenant_id}:products:{PRODUCT}"
    assert redis_client.exists(mark)

    res = Resources(settings)
    try:
        outcome = refresh_entity(res, tenant_id=wired.tenant_id, resource="products", key=PRODUCT)
    finally:
        res.close()
    assert outcome.written == 1
    stored = product(settings)
    assert (variants(settings), stored.variants_partial, stored.price) == (
        VARIANTS,
        False,
        Decimal("15.00"),
    )
    with session_scope(settings.database_url) as s:
        items = set(s.scalars(select(ProductVariant.inventory_item_id)))
    assert items == {7_000_000 + n for n in range(VARIANTS)}


def test_a_shop_without_credentials_keeps_what_the_webhook_said(
    make_tenant: Callable[..., dict[str, Any]], client: FlaskClient, settings: Settings
) -> None:
    tenant = make_tenant()
    sender = Sender(client, shop=tenant["shop"], secret=tenant["secret"])
    assert sender.send("products/update", _webhook()).status_code == 200
    drain_all(settings)
    res = Resources(settings)
    try:
        outcome = refresh_entity(res, tenant_id=tenant["id"], resource="products", key=PRODUCT)
    finally:
        res.close()
    assert outcome.written == 0
    assert (variants(settings), product(settings).variants_partial) == (100, True)


def test_the_refresh_job_is_a_celery_task_with_time_limits() -> None:
    import workers.sync.tasks  # noqa: F401  (registers the sync tasks)

    task = runtime.app.tasks[jobs.REFRESH]
    limits = runtime.LIMITS[jobs.REFRESH]
    assert (task.soft_time_limit, task.time_limit) == (limits.soft, limits.hard)
