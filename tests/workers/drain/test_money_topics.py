"""The money topics and the API 2026-04 shapes end to end: receiver -> stream -> drain -> rows.

Bodies are Shopify's documented 2026-04 samples (devtools/samples/2026-04, see its SOURCES.md),
sent with the API version they were documented for.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from cartwheel.cli import main
from core.settings import Settings
from models import (
    Checkout,
    Customer,
    DeadLetter,
    Fulfillment,
    FulfillmentLineItem,
    InventoryItem,
    InventoryItemCost,
    InventoryLevel,
    Order,
    OrderEdit,
    OrderTransaction,
    Product,
    ProductVariant,
    Refund,
    RefundLineItem,
    WebhookEvent,
)
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.samples import SAMPLES
from tests.support.webhooks import Sender

V2026_04 = SAMPLES / "2026-04"
TOPICS = {p.stem: p.stem.replace("_", "/", 1) for p in V2026_04.glob("*.json")}
TOPICS |= {  # topics whose first word has an underscore of its own
    "order_transactions_create": "order_transactions/create",
    "inventory_items_create": "inventory_items/create",
    "inventory_items_update": "inventory_items/update",
    "inventory_levels_update": "inventory_levels/update",
}


def body(name: str) -> bytes:
    return (V2026_04 / f"{name}.json").read_bytes()


def payload(name: str) -> dict[str, Any]:
    return dict(json.loads(body(name)))


def send(sender: Sender, topic: str, data: bytes | dict[str, Any], **extra: str) -> None:
    response = sender.send(topic, data, **{"X-Shopify-API-Version": "2026-04", **extra})
    assert response.status_code == 200, response.get_data(as_text=True)


def rows(settings: Settings, model: Any, *where: Any) -> list[Any]:
    with session_scope(settings.database_url) as s:
        return list(s.scalars(select(model).where(*where)))


def count(settings: Settings, model: Any) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_the_samples_are_every_topic_of_the_money_resources() -> None:
    money = {
        "refunds/create", "order_transactions/create", "fulfillments/create",
        "fulfillments/update", "inventory_items/create", "inventory_items/update",
        "inventory_levels/update", "orders/edited",
    }  # fmt: skip
    assert money <= set(TOPICS.values())


@pytest.mark.parametrize("name", sorted(TOPICS))
def test_every_2026_04_sample_is_applied_without_a_dead_letter(
    name: str, sender: Sender, settings: Settings
) -> None:
    send(sender, TOPICS[name], body(name), webhook_id=f"wh-{name}")
    assert drain_all(settings) == 1
    [event] = rows(settings, WebhookEvent)
    assert (event.topic, event.api_version, event.status) == (TOPICS[name], "2026-04", "applied")
    assert count(settings, DeadLetter) == 0


def test_refund_sample_becomes_a_refund_with_lines_and_transactions(
    sender: Sender, settings: Settings
) -> None:
    sample = payload("refunds_create")
    send(sender, "refunds/create", body("refunds_create"))
    drain_all(settings)
    [refund] = rows(settings, Refund)
    assert (refund.shopify_id, refund.order_id) == (sample["id"], sample["order_id"])
    assert refund.processed_at.isoformat() == "2022-01-01T00:00:00+00:00"
    paid = sum(
        Decimal(t["amount"])
        for t in sample["transactions"]
        if (t["kind"], t["status"]) == ("refund", "success")
    )
    # The sample's lines name neither taxes nor a shop currency apart: its transactions say
    # what went back, in the one currency there is.
    assert refund.total_refunded_presentment == paid == Decimal("85.00")
    lines = {r.shopify_id: r for r in rows(settings, RefundLineItem)}
    assert set(lines) == {line["id"] for line in sample["refund_line_items"]}
    first = sample["refund_line_items"][0]
    assert lines[first["id"]].subtotal == Decimal(str(first["subtotal"]))
    assert lines[first["id"]].line_item_id == first["line_item_id"]
    transactions = rows(settings, OrderTransaction)
    assert {(t.shopify_id, t.refund_id, t.order_id) for t in transactions} == {
        (t["id"], sample["id"], sample["order_id"]) for t in sample["transactions"]
    }


def test_transaction_sample(sender: Sender, settings: Settings) -> None:
    sample = payload("order_transactions_create")
    send(sender, "order_transactions/create", body("order_transactions_create"))
    drain_all(settings)
    [t] = rows(settings, OrderTransaction)
    assert (t.shopify_id, t.order_id, t.kind, t.status, t.gateway) == (
        sample["id"],
        sample["order_id"],
        "authorization",
        "success",
        "visa",
    )
    assert (t.amount, t.currency, t.amount_shop) == (Decimal("419.95"), "USD", None)


def test_fulfillment_create_then_update(sender: Sender, settings: Settings) -> None:
    created, updated = payload("fulfillments_create"), payload("fulfillments_update")
    updated = copy.deepcopy(created) | {
        "status": "success",
        "shipment_status": "delivered",
        "updated_at": "2022-01-02T00:00:00-05:00",
    }
    send(sender, "fulfillments/update", updated)  # the later version first
    send(sender, "fulfillments/create", created)
    drain_all(settings)
    [f] = rows(settings, Fulfillment)
    assert (f.shopify_id, f.order_id, f.status, f.shipment_status) == (
        created["id"],
        created["order_id"],
        "success",
        "delivered",
    )
    assert (f.tracking_company, f.tracking_numbers) == ("UPS", created["tracking_numbers"])
    lines = rows(settings, FulfillmentLineItem)
    assert sorted((li.line_item_id, li.quantity) for li in lines) == sorted(
        (li["id"], li["quantity"]) for li in created["line_items"]
    )


def test_inventory_item_cost_and_level(sender: Sender, settings: Settings) -> None:
    item = payload("inventory_items_update") | {"cost": "12.34"}
    send(sender, "inventory_items/update", item)
    send(sender, "inventory_levels/update", payload("inventory_levels_update") | {"available": 7})
    drain_all(settings)
    [stored] = rows(settings, InventoryItem)
    assert (stored.shopify_id, stored.sku, stored.cost) == (
        item["id"],
        "example-sku",
        Decimal("12.34"),
    )
    [cost] = rows(settings, InventoryItemCost)
    assert (cost.inventory_item_id, cost.cost) == (item["id"], Decimal("12.34"))
    [level] = rows(settings, InventoryLevel)
    assert (level.inventory_item_id, level.location_id, level.available) == (
        item["id"],
        24826418,
        7,
    )


def test_an_order_edit_is_recorded_not_dead_lettered(
    sender: Sender, settings: Settings, tenant: dict[str, Any], redis_client: Any
) -> None:
    edit = payload("orders_edited")["order_edit"]
    send(sender, "orders/edited", body("orders_edited"))
    drain_all(settings)
    assert count(settings, DeadLetter) == 0
    [stored] = rows(settings, OrderEdit)
    assert (stored.shopify_id, stored.order_id) == (edit["id"], edit["order_id"])
    # The edited order itself is asked of the Admin API (workers/sync/refresh.py).
    mark = f"{settings.namespace}:refresh:{tenant['id']}:orders:{edit['order_id']}"
    assert redis_client.exists(mark)


def test_a_2026_04_checkout_is_deleted_by_its_id_and_cart_token(
    sender: Sender, settings: Settings
) -> None:
    created = payload("checkouts_create")
    deleted = payload("checkouts_delete") | {"cart_token": created["cart_token"]}
    assert "id" not in created
    send(sender, "checkouts/create", created)
    drain_all(settings)
    send(sender, "checkouts/delete", deleted)
    drain_all(settings)
    [checkout] = rows(settings, Checkout)
    assert checkout.token == created["token"]
    assert checkout.deleted_at is not None
    # A late update does not bring it back.
    send(sender, "checkouts/update", created | {"updated_at": "2030-01-01T00:00:00Z"})
    drain_all(settings)
    [checkout] = rows(settings, Checkout)
    assert checkout.deleted_at is not None


def test_a_checkout_deleted_before_it_arrives_stays_deleted(
    sender: Sender, settings: Settings
) -> None:
    created = payload("checkouts_create")
    send(
        sender,
        "checkouts/delete",
        payload("checkouts_delete") | {"cart_token": created["cart_token"]},
    )
    send(sender, "checkouts/create", created)
    drain_all(settings)
    [checkout] = rows(settings, Checkout)
    assert checkout.deleted_at is not None


def _variant(product_id: int, n: int) -> dict[str, Any]:
    return {
        "id": 40_000_000_000_000_000 + n,
        "product_id": product_id,
        "title": f"Size {n}",
        "price": "10.00",
        "sku": f"sku-{n}",
        "updated_at": "2026-05-01T00:00:00Z",
    }


def test_a_product_webhook_never_loses_the_variants_it_did_not_carry(
    sender: Sender, settings: Settings, tenant: dict[str, Any], redis_client: Any
) -> None:
    product = payload("products_update")
    pid = product["id"]
    whole = product | {
        "variants": [_variant(pid, n) for n in range(101)],
        "variant_gids": [],
        "updated_at": "2026-05-01T00:00:00Z",
    }
    send(sender, "products/update", whole)
    drain_all(settings)
    assert count(settings, ProductVariant) == 101
    # A later webhook: the first 100 variants in full, the 101st only named.
    partial = whole | {
        "variants": [_variant(pid, n) | {"price": "12.00"} for n in range(100)],
        "variant_gids": [
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{_variant(pid, 100)['id']}",
                "updated_at": "2026-05-01T00:00:00Z",
            }
        ],
        "updated_at": "2026-05-02T00:00:00Z",
    }
    send(sender, "products/update", partial)
    drain_all(settings)
    variants = {v.shopify_id: v for v in rows(settings, ProductVariant)}
    assert len(variants) == 101
    assert variants[_variant(pid, 100)["id"]].price == Decimal("10.00")  # kept as it was
    assert variants[_variant(pid, 0)["id"]].price == Decimal("12.00")
    [stored] = rows(settings, Product)
    assert stored.variants_partial is True
    assert redis_client.exists(f"{settings.namespace}:refresh:{tenant['id']}:products:{pid}")
    # A variant neither carried nor named is gone from the product.
    fewer = partial | {"variant_gids": [], "updated_at": "2026-05-03T00:00:00Z"}
    send(sender, "products/update", fewer)
    drain_all(settings)
    assert count(settings, ProductVariant) == 100


def test_an_unknown_topic_is_answered_200_recorded_and_replayable(
    sender: Sender, settings: Settings
) -> None:
    send(sender, "discounts/create", {"admin_graphql_api_id": "gid://shopify/Discount/1"})
    level = payload("inventory_levels_update") | {"available": 3}
    send(sender, "inventory_levels/update", level, **{"X-Shopify-Webhook-Id": "wh-level"})
    drain_all(settings)
    # As a release before inventory was handled would have left it: recorded, not applied.
    with session_scope(settings.database_url) as s:
        s.execute(
            text("UPDATE webhook_events SET status = 'unhandled' WHERE webhook_id = 'wh-level'")
        )
        s.execute(text("DELETE FROM inventory_levels"))
    statuses = {e.topic: e.status for e in rows(settings, WebhookEvent)}
    assert statuses == {"discounts/create": "unhandled", "inventory_levels/update": "unhandled"}

    result = CliRunner().invoke(
        main, ["events", "replay-unhandled"], env=settings.to_env(), catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "replayed 1 unhandled delivery(ies); 1 left" in result.output
    drain_all(settings)
    statuses = {e.topic: e.status for e in rows(settings, WebhookEvent)}
    assert statuses == {"discounts/create": "unhandled", "inventory_levels/update": "applied"}
    [stored] = rows(settings, InventoryLevel)
    assert stored.available == 3
    assert count(settings, DeadLetter) == 0


def _eur_order() -> dict[str, Any]:
    """An order of a USD shop paid in EUR, with a partial refund in EUR."""

    def bag(usd: str, eur: str) -> dict[str, Any]:
        return {
            "shop_money": {"amount": usd, "currency_code": "USD"},
            "presentment_money": {"amount": eur, "currency_code": "EUR"},
        }

    order = payload("orders_create")
    order.update(
        id=5001,
        currency="USD",
        presentment_currency="EUR",
        total_price="110.00",
        total_price_set=bag("110.00", "100.00"),
        updated_at="2026-05-01T00:00:00Z",
        customer=None,
    )
    line = order["line_items"][0] | {
        "id": 6001,
        "price": "110.00",
        "price_set": bag("110.00", "100.00"),
    }
    order["line_items"] = [line]
    order["refunds"] = [
        {
            "id": 7001,
            "order_id": 5001,
            "created_at": "2026-05-03T00:00:00Z",
            "processed_at": "2026-05-03T00:00:00Z",
            "refund_line_items": [
                {
                    "id": 8001,
                    "line_item_id": 6001,
                    "quantity": 1,
                    "subtotal": 55.0,  # plain amounts are in shop money
                    "subtotal_set": bag("55.00", "50.00"),
                    "total_tax": 0.0,
                    "total_tax_set": bag("0.00", "0.00"),
                }
            ],
            "transactions": [
                {
                    "id": 9001,
                    "kind": "refund",
                    "status": "success",
                    "amount": "50.00",
                    "currency": "EUR",
                    "order_id": 5001,
                },
            ],
        }
    ]
    return order


def test_a_refund_in_the_buyers_currency_counts_in_shop_money(
    sender: Sender, settings: Settings
) -> None:
    send(sender, "orders/updated", _eur_order())
    drain_all(settings)
    [order] = rows(settings, Order)
    assert (order.total_refunded, order.total_refunded_presentment) == (
        Decimal("55.00"),
        Decimal("50.00"),
    )
    [refund] = rows(settings, Refund)
    assert (refund.total_refunded, refund.total_refunded_presentment) == (
        Decimal("55.00"),
        Decimal("50.00"),
    )
    [tx] = rows(settings, OrderTransaction)
    assert (tx.amount, tx.currency, tx.refund_id) == (Decimal("50.00"), "EUR", 7001)


def test_a_customer_created_after_its_order_keeps_its_creation_time(
    sender: Sender, settings: Settings
) -> None:
    created = payload("customers_create")
    order = payload("orders_create")
    order["customer"] = {
        k: created[k] for k in ("id", "email", "first_name", "last_name", "state")
    } | {"updated_at": "2030-01-01T00:00:00Z"}
    order["customer"].pop("created_at", None)
    send(sender, "orders/create", order)
    drain_all(settings)
    send(sender, "customers/create", created)
    drain_all(settings)
    [customer] = rows(settings, Customer)
    assert customer.updated_at.year == 2030  # the newer version stays
    assert customer.created_at == datetime.fromisoformat(created["created_at"])


def test_a_checkout_in_the_buyers_currency_is_not_counted_as_shop_money(
    sender: Sender, settings: Settings
) -> None:
    created = payload("checkouts_create")
    eur = created | {"currency": "USD", "presentment_currency": "EUR", "total_price": "90.00"}
    usd = created | {
        "token": "usd-checkout",
        "cart_token": "usd-cart",
        "currency": "USD",
        "presentment_currency": "USD",
        "total_price": "99.00",
    }
    send(sender, "checkouts/create", eur)
    send(sender, "checkouts/create", usd)
    drain_all(settings)
    stored = {c.token: c for c in rows(settings, Checkout)}
    buyer = stored[created["token"]]
    assert (buyer.total_price, buyer.total_price_presentment, buyer.presentment_currency) == (
        None,
        Decimal("90.00"),
        "EUR",
    )
    same = stored["usd-checkout"]
    assert (same.total_price, same.total_price_presentment) == (Decimal("99.00"), Decimal("99.00"))


def test_inventory_deletions_tombstone_and_are_not_undone_by_late_updates(
    sender: Sender, settings: Settings
) -> None:
    item = payload("inventory_items_update")
    level = payload("inventory_levels_update") | {"available": 5}
    send(sender, "inventory_items/create", item)
    send(sender, "inventory_levels/update", level)
    drain_all(settings)
    key = {k: level[k] for k in ("inventory_item_id", "location_id")}
    send(sender, "inventory_levels/disconnect", key)
    send(sender, "inventory_items/delete", {"id": item["id"]})
    drain_all(settings)
    send(sender, "inventory_levels/update", level)  # a late redelivery of the old level
    drain_all(settings)
    [stored] = rows(settings, InventoryItem)
    assert stored.deleted_at is not None
    [gone] = rows(settings, InventoryLevel)
    assert gone.deleted_at is not None
    assert count(settings, DeadLetter) == 0
