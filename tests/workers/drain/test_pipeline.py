"""Shopify's sample payloads through the whole path: receiver -> stream -> drain -> rows."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core.settings import Settings
from core.wire import consumer_group, stream_keys
from models import (
    Cart,
    Checkout,
    Customer,
    DeadLetter,
    Order,
    OrderLineItem,
    Product,
    ProductVariant,
    WebhookEvent,
)
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.samples import sample_body, sample_json
from tests.support.webhooks import Sender

SAMPLES = {
    "customers_create": "customers/create",
    "customers_update": "customers/update",
    "customers_delete": "customers/delete",
    "products_create": "products/create",
    "products_update": "products/update",
    "products_delete": "products/delete",
    "orders_create": "orders/create",
    "orders_updated": "orders/updated",
    "orders_paid": "orders/paid",
    "orders_delete": "orders/delete",
    "carts_create": "carts/create",
    "carts_update": "carts/update",
    "checkouts_create": "checkouts/create",
    "checkouts_update": "checkouts/update",
    "checkouts_delete": "checkouts/delete",
    "app_uninstalled": "app/uninstalled",
    "customers_data_request": "customers/data_request",
    "customers_redact": "customers/redact",
    "shop_redact": "shop/redact",
}


def rows(settings: Settings, model: Any) -> list[Any]:
    with session_scope(settings.database_url) as s:
        return list(s.scalars(select(model)))


def count(settings: Settings, model: Any) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_payload_lands_in_the_event_log(
    name: str, sender: Sender, settings: Settings
) -> None:
    response = sender.send(SAMPLES[name], sample_body(name), webhook_id=f"wh-{name}")
    assert response.status_code == 200
    assert drain_all(settings) == 1
    [event] = rows(settings, WebhookEvent)
    assert event.webhook_id == f"wh-{name}"
    assert event.topic == SAMPLES[name]
    assert event.api_version == "2026-07"
    assert event.status in ("applied", "recorded")
    assert event.payload == json.loads(sample_body(name))
    assert count(settings, DeadLetter) == 0


def test_customer_sample_becomes_a_row(sender: Sender, settings: Settings) -> None:
    sender.send("customers/create", sample_body("customers_create"))
    drain_all(settings)
    [c] = rows(settings, Customer)
    assert c.shopify_id == 706405506930370084  # beyond 2**53, exact
    assert (c.email, c.first_name, c.last_name, c.state) == (
        "bob@biller.com",
        "Bob",
        "Biller",
        "disabled",
    )
    assert c.updated_at.isoformat() == "2022-01-01T00:00:00+00:00"
    assert c.deleted_at is None


def test_product_sample_with_variants(sender: Sender, settings: Settings) -> None:
    sender.send("products/create", sample_body("products_create"))
    drain_all(settings)
    [p] = rows(settings, Product)
    sample = sample_json("products_create")
    assert p.shopify_id == sample["id"]
    assert p.title == "Example T-Shirt"
    assert p.price == Decimal("19.99")
    variants = rows(settings, ProductVariant)
    assert sorted(v.shopify_id for v in variants) == sorted(v["id"] for v in sample["variants"])
    assert {v.product_id for v in variants} == {sample["id"]}


def test_order_sample_with_line_items_and_money(sender: Sender, settings: Settings) -> None:
    sender.send("orders/create", sample_body("orders_create"))
    drain_all(settings)
    [o] = rows(settings, Order)
    sample = sample_json("orders_create")
    assert o.shopify_id == 820982911946154508
    assert o.total_price == Decimal("404.95")
    assert o.currency == "USD"
    assert o.financial_status == "voided"
    assert o.cancelled_at is not None
    assert o.customer_id == sample["customer"]["id"]
    lines = rows(settings, OrderLineItem)
    assert sorted(li.shopify_id for li in lines) == sorted(li["id"] for li in sample["line_items"])
    assert sum(li.price * li.quantity for li in lines) == sum(
        Decimal(li["price"]) * li["quantity"] for li in sample["line_items"]
    )
    # The order's customer exists before any customers/create for it arrives.
    [c] = rows(settings, Customer)
    assert c.shopify_id == sample["customer"]["id"]


def test_cart_and_checkout_samples(sender: Sender, settings: Settings) -> None:
    sender.send("carts/create", sample_body("carts_create"))
    sender.send("checkouts/create", sample_body("checkouts_create"))
    drain_all(settings)
    [cart] = rows(settings, Cart)
    assert (cart.token, cart.item_count, cart.total_price) == ("exampleCartId", 3, Decimal("59.97"))
    [checkout] = rows(settings, Checkout)
    assert checkout.token == "123123123"
    assert checkout.cart_token == "eeafa272cebfd4b22385bc4b645e762c"
    assert checkout.status == "open"
    assert checkout.total_price == Decimal("421.88")


def test_duplicate_deliveries_are_logged_once(sender: Sender, settings: Settings) -> None:
    for _ in range(3):
        assert (
            sender.send(
                "orders/create", sample_body("orders_create"), webhook_id="same-id"
            ).status_code
            == 200
        )
    drain_all(settings)
    assert count(settings, WebhookEvent) == 1
    assert count(settings, Order) == 1


def _order(version: str, **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(sample_json("orders_create"))
    order.update(updated_at=version, **changes)
    return order


def test_stale_update_never_overwrites_newer(sender: Sender, settings: Settings) -> None:
    sender.send("orders/updated", _order("2024-05-02T10:00:00Z", financial_status="refunded"))
    drain_all(settings)
    sender.send("orders/updated", _order("2024-05-01T10:00:00Z", financial_status="paid"))
    drain_all(settings)
    [o] = rows(settings, Order)
    assert o.financial_status == "refunded"
    statuses = sorted(e.status for e in rows(settings, WebhookEvent))
    assert statuses == ["applied", "stale"]


def test_equal_updated_at_breaks_ties_on_triggered_at(sender: Sender, settings: Settings) -> None:
    same = "2024-05-01T10:00:00Z"
    sender.send(
        "orders/updated",
        _order(same, financial_status="paid"),
        **{"X-Shopify-Triggered-At": "2024-05-01T10:00:02Z"},
    )
    sender.send(
        "orders/updated",
        _order(same, financial_status="pending"),
        **{"X-Shopify-Triggered-At": "2024-05-01T10:00:01Z"},
    )
    drain_all(settings)
    [o] = rows(settings, Order)
    assert o.financial_status == "paid"


def test_delete_tombstones_and_late_update_cannot_resurrect(
    sender: Sender, settings: Settings
) -> None:
    sender.send("products/create", sample_body("products_create"))
    drain_all(settings)
    sender.send("products/delete", sample_body("products_delete"))
    drain_all(settings)
    late = copy.deepcopy(sample_json("products_update"))
    late["updated_at"] = "2030-01-01T00:00:00Z"
    sender.send("products/update", late)
    drain_all(settings)
    [p] = rows(settings, Product)
    assert p.deleted_at is not None


def test_delete_before_create_still_ends_deleted(sender: Sender, settings: Settings) -> None:
    sender.send("customers/delete", sample_body("customers_delete"))
    drain_all(settings)
    sender.send("customers/create", sample_body("customers_create"))
    drain_all(settings)
    [c] = rows(settings, Customer)
    assert c.deleted_at is not None
    assert c.email == "bob@biller.com"


def test_update_for_unknown_id_creates_it(sender: Sender, settings: Settings) -> None:
    sender.send("customers/update", sample_body("customers_update"))
    drain_all(settings)
    assert count(settings, Customer) == 1


def test_checkout_delete_by_id_applies_whichever_arrives_first(
    sender: Sender, settings: Settings
) -> None:
    checkout = sample_json("checkouts_create")
    checkout["id"] = sample_json("checkouts_delete")["id"]
    sender.send("checkouts/delete", sample_body("checkouts_delete"))
    drain_all(settings)
    sender.send("checkouts/create", checkout)
    drain_all(settings)
    [row] = rows(settings, Checkout)
    assert row.deleted_at is not None


def test_order_completes_its_checkout_and_converts_its_cart(
    sender: Sender, settings: Settings
) -> None:
    checkout = sample_json("checkouts_create")
    cart = sample_json("carts_create")
    cart["id"] = cart["token"] = checkout["cart_token"]
    order = sample_json("orders_create")
    order.update(checkout_token=checkout["token"], cart_token=checkout["cart_token"])
    # The order arrives first; the checkout and cart must still end up completed / converted.
    sender.send("orders/create", order)
    drain_all(settings)
    sender.send("checkouts/create", checkout)
    sender.send("carts/create", cart)
    drain_all(settings)
    [c] = rows(settings, Checkout)
    assert c.status == "completed"
    assert c.completed_at is not None
    [k] = rows(settings, Cart)
    assert k.status == "converted"


def test_invalid_payload_is_dead_lettered_and_does_not_block_the_batch(
    sender: Sender, settings: Settings
) -> None:
    sender.send("orders/create", {"id": "not-a-number"}, webhook_id="poison")
    sender.send("orders/create", sample_body("orders_create"), webhook_id="good")
    assert drain_all(settings) == 2
    assert count(settings, Order) == 1
    [dead] = rows(settings, DeadLetter)
    assert dead.webhook_id == "poison"
    assert "invalid orders payload" in dead.error
    assert json.loads(dead.body) == {"id": "not-a-number"}
    assert [e.webhook_id for e in rows(settings, WebhookEvent)] == ["good"]


def test_database_rejection_isolates_the_one_bad_event(sender: Sender, settings: Settings) -> None:
    # Valid for the schema but rejected by PostgreSQL: a NUL byte cannot be stored in text.
    bad = sample_json("customers_create") | {"id": 42, "first_name": "Bo\u0000b"}
    sender.send("customers/create", bad, webhook_id="nul")
    sender.send("orders/create", sample_body("orders_create"), webhook_id="fine")
    drain_all(settings)
    assert count(settings, Order) == 1
    [dead] = rows(settings, DeadLetter)
    assert dead.webhook_id == "nul"
    assert "database rejected" in dead.error


def test_stream_is_empty_after_drain(sender: Sender, settings: Settings, redis_client: Any) -> None:
    for name in ("orders_create", "customers_create", "carts_create"):
        sender.send(SAMPLES[name], sample_body(name))
    drain_all(settings)
    for key in stream_keys(settings):
        assert redis_client.xlen(key) == 0
        assert redis_client.xpending(key, consumer_group(settings))["pending"] == 0


def test_ids_beyond_2_53_are_exact_end_to_end(sender: Sender, settings: Settings) -> None:
    big = 2**63 - 7
    sender.send("customers/create", sample_json("customers_create") | {"id": big})
    drain_all(settings)
    with session_scope(settings.database_url) as s:
        assert s.execute(text("SELECT shopify_id FROM customers")).scalar_one() == big
        assert s.execute(text("SELECT payload->>'id' FROM customers")).scalar_one() == str(big)


def test_older_version_in_the_same_batch_is_logged_stale(
    sender: Sender, settings: Settings
) -> None:
    sender.send(
        "orders/updated", _order("2024-05-01T10:00:00Z", financial_status="paid"), webhook_id="old"
    )
    sender.send(
        "orders/updated",
        _order("2024-05-03T10:00:00Z", financial_status="refunded"),
        webhook_id="new",
    )
    drain_all(settings)
    [o] = rows(settings, Order)
    assert o.financial_status == "refunded"
    assert {e.webhook_id: e.status for e in rows(settings, WebhookEvent)} == {
        "old": "stale",
        "new": "applied",
    }


def test_recovered_time_is_the_orders_time(sender: Sender, settings: Settings) -> None:
    checkout = sample_json("checkouts_create")
    order = sample_json("orders_create") | {
        "checkout_token": checkout["token"],
        "processed_at": "2024-02-03T04:05:06Z",
    }
    sender.send("checkouts/create", checkout)
    sender.send("orders/create", order)
    drain_all(settings)
    [c] = rows(settings, Checkout)
    assert c.status == "completed"
    assert c.completed_at.isoformat() == "2024-02-03T04:05:06+00:00"
