"""`cartwheel simulate`: Shopify-like traffic, and the state it must converge to once ingested."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from cartwheel.cli import main
from cartwheel.sending import send_all
from core.settings import Settings
from devtools.traffic import Delivery, ExpectedState, expected_state, traffic
from models import (
    Cart,
    Checkout,
    Customer,
    DeadLetter,
    Fulfillment,
    FulfillmentLineItem,
    InventoryItem,
    InventoryItemCost,
    InventoryLevel,
    Order,
    OrderAdjustment,
    OrderEdit,
    OrderTransaction,
    Product,
    ProductVariant,
    Refund,
    RefundLineItem,
    RefundShippingLine,
    WebhookEvent,
)
from models.db import session_scope
from receiver.signature import verify_signature
from tests.support.pipeline import drain_all
from tests.support.processes import receiver_server
from tests.support.services import free_port

START = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
SHOP = {"shop": "demo-shop.myshopify.com", "secret": "s3cret"}
MODELS: dict[str, Any] = {
    "customers": Customer,
    "products": Product,
    "orders": Order,
    "carts": Cart,
    "checkouts": Checkout,
    "refunds": Refund,
    "order_transactions": OrderTransaction,
    "fulfillments": Fulfillment,
    "inventory_items": InventoryItem,
    "inventory_levels": InventoryLevel,
    "order_edits": OrderEdit,
}
MONEY_TOPICS = (
    "refunds/create", "order_transactions/create", "fulfillments/create", "fulfillments/update",
    "inventory_levels/update", "inventory_items/create", "inventory_items/update", "orders/edited",
)  # fmt: skip


def take(
    seed: int,
    count: int,
    tenant: dict[str, Any],
    start: datetime = START,
    api_version: str = "2026-07",
) -> list[Delivery]:
    stream = traffic(
        seed, shop=tenant["shop"], secret=tenant["secret"], start=start, api_version=api_version
    )
    return list(islice(stream, count))


def bodies(deliveries: list[Delivery], *topics: str) -> list[dict[str, Any]]:
    return [json.loads(d.body) for d in deliveries if d.topic in topics]


def cents(amount: Any) -> Decimal:
    return Decimal(str(amount))


def entity_key(d: Delivery) -> tuple[str, Any]:
    body = json.loads(d.body)
    resource = d.topic.split("/")[0]
    return resource, body["token"] if resource in ("carts", "checkouts") else body["id"]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def test_the_same_seed_gives_the_same_traffic() -> None:
    assert take(5, 300, SHOP) == take(5, 300, SHOP)
    assert [d.webhook_id for d in take(6, 300, SHOP)] != [d.webhook_id for d in take(5, 300, SHOP)]
    later = take(5, 300, SHOP, start=datetime(2027, 1, 1, tzinfo=UTC))
    assert [(d.topic, d.webhook_id, d.kind) for d in later] == [
        (d.topic, d.webhook_id, d.kind) for d in take(5, 300, SHOP)
    ]


def test_every_delivery_is_signed_over_its_exact_bytes() -> None:
    for d in take(3, 400, SHOP):
        assert verify_signature(d.body, d.header("x-shopify-hmac-sha256"), [SHOP["secret"]])
        assert d.header("X-Shopify-Shop-Domain") == SHOP["shop"]
        assert d.header("X-SHOPIFY-TOPIC") == d.topic
        assert d.header("x-shopify-api-version") == "2026-07"
        assert isinstance(json.loads(d.body), dict)


def test_traffic_follows_journeys_across_every_resource() -> None:
    deliveries = take(3, 1500, SHOP)
    topics = Counter(d.topic for d in deliveries)
    for topic in (
        "customers/create", "customers/update", "customers/delete", "products/create",
        "products/update", "products/delete", "carts/create", "carts/update", "checkouts/create",
        "checkouts/update", "checkouts/delete", "orders/create", "orders/paid", "orders/updated",
        "orders/fulfilled", "orders/cancelled", "orders/delete", *MONEY_TOPICS,
    ):  # fmt: skip
        assert topics[topic] > 0, topic
    carts = {json.loads(d.body)["token"] for d in deliveries if d.topic.startswith("carts/")}
    checkouts = {
        json.loads(d.body)["token"]: json.loads(d.body)["cart_token"]
        for d in deliveries
        if d.topic in ("checkouts/create", "checkouts/update")
    }
    orders = [json.loads(d.body) for d in deliveries if d.topic == "orders/create"]
    assert orders
    for order in orders:  # orders link back to the checkout and cart they came from
        assert checkouts[order["checkout_token"]] == order["cart_token"]
        assert order["cart_token"] in carts


@pytest.mark.parametrize("version", ["2025-10", "2026-01", "2026-04", "2026-07"])
def test_bodies_have_the_shapes_of_the_claimed_api_version(version: str) -> None:
    deliveries = take(11, 800, SHOP, api_version=version)
    assert {d.header("X-Shopify-API-Version") for d in deliveries} == {version}
    by_id = version < "2026-04"  # from 2026-04 a checkout is known by its token alone
    checkouts = bodies(deliveries, "checkouts/create", "checkouts/update")
    assert checkouts and all(("id" in c) == by_id for c in checkouts)
    orders = bodies(deliveries, "orders/create", "orders/updated", "orders/paid")
    assert orders and all(("checkout_id" in o) == by_id for o in orders)
    deletes = bodies(deliveries, "checkouts/delete")
    assert deletes and all(d["id"] and d["cart_token"] for d in deletes)
    large = [p for p in bodies(deliveries, "products/create", "products/update")
             if len(p["variant_gids"]) > 100]  # fmt: skip
    assert large
    for p in large:
        assert len(p["variants"]) == (len(p["variant_gids"]) if by_id else 100)
        named = [g["admin_graphql_api_id"] for g in p["variant_gids"]]
        assert {v["admin_graphql_api_id"] for v in p["variants"]} <= set(named)
        times = [g["updated_at"] for g in p["variant_gids"]]
        assert times == sorted(times, reverse=True)


@pytest.mark.parametrize("version", ["2026-05", "unstable", "latest"])
def test_only_stable_api_versions_are_claimed(version: str) -> None:
    with pytest.raises(ValueError, match="not a stable Shopify API version"):
        next(traffic(1, shop=SHOP["shop"], secret=SHOP["secret"], api_version=version))


def test_refunds_pay_back_their_parts_in_the_buyers_currency() -> None:
    deliveries = take(3, 3000, SHOP)
    sales = {t["id"] for t in bodies(deliveries, "order_transactions/create")
             if t["kind"] == "sale"}  # fmt: skip
    refunds = bodies(deliveries, "refunds/create")
    assert any(r["refund_shipping_lines"] for r in refunds)
    assert any(r["order_adjustments"] for r in refunds)
    currencies = Counter()
    for r in refunds:
        [paid] = r["transactions"]
        parts = (
            sum(buyer_amount(x["subtotal_set"]) for x in r["refund_line_items"])
            + sum(buyer_amount(x["subtotal_amount_set"]) for x in r["refund_shipping_lines"])
            - sum(buyer_amount(a["amount_set"]) for a in r["order_adjustments"])
        )
        assert (paid["kind"], Decimal(paid["amount"])) == ("refund", parts)
        assert paid["parent_id"] in sales
        bags = [x["subtotal_set"] for x in r["refund_line_items"]]
        assert {b["presentment_money"]["currency_code"] for b in bags} <= {paid["currency"]}
        currencies[paid["currency"]] += 1
    assert currencies["USD"] and len(currencies) > 1  # some buyers pay in their own currency


def test_fulfillments_are_created_then_updated_in_shipping_order() -> None:
    deliveries = take(3, 3000, SHOP)
    created = {f["id"]: f for f in bodies(deliveries, "fulfillments/create")}
    steps = [None, "in_transit", "out_for_delivery", "delivered"]
    updates = sorted(bodies(deliveries, "fulfillments/update"), key=lambda f: f["updated_at"])
    assert updates
    seen: dict[int, int] = {}
    for f in updates:
        assert f["id"] in created and f["updated_at"] > created[f["id"]]["updated_at"]
        seen[f["id"]] = max(seen.get(f["id"], 0), steps.index(f["shipment_status"]))
    assert 3 in seen.values()


def test_ids_are_64_bit_and_many_lie_beyond_2_to_the_53() -> None:
    found = [json.loads(d.body) for d in take(3, 600, SHOP) if not d.topic.startswith("carts/")]
    ids = [body["id"] for body in found if "id" in body]  # levels and order edits have none
    assert all(0 < i < 2**63 for i in ids)
    assert any(i > 2**53 for i in ids)
    assert any(i < 2**53 for i in ids)


def test_traffic_has_shopifys_delivery_quirks() -> None:
    deliveries = take(3, 1000, SHOP)
    by_webhook: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_webhook[d.webhook_id].append(d)
    resent = [ds for ds in by_webhook.values() if len(ds) > 1]
    assert resent, "no duplicate deliveries"
    assert all(len({d.body for d in ds}) == 1 for ds in resent)
    # Header names arrive in several spellings.
    assert (
        len({next(k for k in d.headers if k.lower() == "x-shopify-topic") for d in deliveries}) > 1
    )
    # One merchant action (placing an order) shares its event id across topics.
    topics_by_event: dict[str, set[str]] = defaultdict(set)
    for d in deliveries:
        topics_by_event[d.header("X-Shopify-Event-Id")].add(d.topic)
    assert any({"orders/create", "orders/paid"} <= t for t in topics_by_event.values())
    # Out of order: an update before its create, and an older version after a newer one.
    upserts = [
        d
        for d in deliveries
        if not d.topic.endswith("/delete") and "updated_at" in json.loads(d.body)
        if d.topic.split("/")[0] in ("customers", "products", "orders", "carts", "checkouts")
    ]
    first_topic: dict[tuple[str, Any], str] = {}
    newest: dict[tuple[str, Any], datetime] = {}
    stale = 0
    for d in upserts:
        key = entity_key(d)
        first_topic.setdefault(key, d.topic)
        updated = datetime.fromisoformat(json.loads(d.body)["updated_at"])
        if key in newest and updated < newest[key]:
            stale += 1
        newest[key] = max(newest.get(key, updated), updated)
    assert stale > 0
    assert any(not topic.endswith("/create") for topic in first_topic.values())


def row_key(resource: str, row: Any) -> Any:
    if resource in ("carts", "checkouts"):
        return row.token
    if resource == "inventory_levels":
        return (row.inventory_item_id, row.location_id)
    return row.shopify_id


def assert_converged(settings: Settings, tenant_id: Any, expected: ExpectedState) -> None:
    with session_scope(settings.database_url) as s:
        for resource, model in MODELS.items():
            rows = {
                row_key(resource, r): r
                for r in s.scalars(select(model).where(model.tenant_id == tenant_id))
            }
            want = expected.entities[resource]
            assert set(rows) == set(want), resource
            for key, state in want.items():
                row = rows[key]
                assert (row.deleted_at is not None) == state.deleted, (resource, key)
                # Live rows hold exactly the newest version (an order's customer whose own
                # webhook was not sent has none to compare).
                if not state.deleted and state.payload is not None:
                    assert row.payload == state.payload, (resource, key)
                    assert row.webhook_id in state.webhook_ids, (resource, key)
            if resource == "checkouts":
                for key, row in rows.items():
                    done = key in expected.completed_checkouts
                    assert row.status == ("completed" if done else "open"), key
            if resource == "carts":
                for key, row in rows.items():
                    converted = key in expected.converted_carts
                    assert row.status == ("converted" if converted else "open"), key
        logged = list(
            s.scalars(select(WebhookEvent.webhook_id).where(WebhookEvent.tenant_id == tenant_id))
        )
        assert len(logged) == len(set(logged))
        assert set(logged) == expected.webhook_ids
        assert s.scalar(select(func.count()).select_from(DeadLetter)) == 0


def newest(expected: ExpectedState, resource: str) -> dict[Any, dict[str, Any]]:
    return {k: e.payload for k, e in expected.entities[resource].items() if e.payload}


def rows_of(s: Any, tenant_id: Any, model: Any, *columns: str) -> set[tuple[Any, ...]]:
    found = s.scalars(select(model).where(model.tenant_id == tenant_id))
    return {tuple(hashable(getattr(r, c)) for c in columns) for r in found}


def hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def shop_amount(bag: dict[str, Any]) -> Decimal:
    return Decimal(bag["shop_money"]["amount"])


def buyer_amount(bag: dict[str, Any]) -> Decimal:
    return Decimal(bag["presentment_money"]["amount"])


def assert_money_rows(settings: Settings, tenant_id: Any, expected: ExpectedState) -> None:
    """The typed money rows say what the newest payloads sent, to the cent, in both currencies."""
    refunds = newest(expected, "refunds")
    with session_scope(settings.database_url) as s:
        assert rows_of(s, tenant_id, Refund, "shopify_id", "order_id", "total_refunded",
                       "total_refunded_presentment") == {
            (k, r["order_id"],
             sum(shop_amount(x["subtotal_set"]) for x in r["refund_line_items"])
             + sum(shop_amount(x["subtotal_amount_set"]) for x in r["refund_shipping_lines"])
             - sum(Decimal(a["amount"]) for a in r["order_adjustments"]),
             sum(Decimal(t["amount"]) for t in r["transactions"]))
            for k, r in refunds.items()
        }  # fmt: skip
        assert rows_of(s, tenant_id, RefundLineItem, "shopify_id", "refund_id", "line_item_id",
                       "quantity", "subtotal", "subtotal_presentment", "restock_type") == {
            (x["id"], k, x["line_item_id"], x["quantity"], shop_amount(x["subtotal_set"]),
             buyer_amount(x["subtotal_set"]), x["restock_type"])
            for k, r in refunds.items() for x in r["refund_line_items"]
        }  # fmt: skip
        assert rows_of(s, tenant_id, RefundShippingLine, "shopify_id", "refund_id",
                       "shipping_line_id", "subtotal", "subtotal_presentment") == {
            (x["id"], k, x["shipping_line_id"], shop_amount(x["subtotal_amount_set"]),
             buyer_amount(x["subtotal_amount_set"]))
            for k, r in refunds.items() for x in r["refund_shipping_lines"]
        }  # fmt: skip
        assert rows_of(s, tenant_id, OrderAdjustment, "shopify_id", "refund_id", "kind",
                       "amount", "amount_presentment") == {
            (a["id"], k, a["kind"], Decimal(a["amount"]), buyer_amount(a["amount_set"]))
            for k, r in refunds.items() for a in r["order_adjustments"]
        }  # fmt: skip
        assert rows_of(s, tenant_id, OrderTransaction, "shopify_id", "order_id", "refund_id",
                       "parent_id", "kind", "status", "amount", "currency") == {
            (k, t["order_id"], expected.refund_of.get(k), t["parent_id"], t["kind"],
             t["status"], Decimal(t["amount"]), t["currency"])
            for k, t in newest(expected, "order_transactions").items()
        }  # fmt: skip
        fulfillments = newest(expected, "fulfillments")
        assert rows_of(s, tenant_id, Fulfillment, "shopify_id", "order_id", "status",
                       "shipment_status", "tracking_company", "tracking_numbers") == {
            (k, f["order_id"], f["status"], f["shipment_status"], f["tracking_company"],
             tuple(f["tracking_numbers"]))
            for k, f in fulfillments.items()
        }  # fmt: skip
        assert rows_of(s, tenant_id, FulfillmentLineItem, "fulfillment_id", "line_item_id",
                       "quantity") == {
            (k, line["id"], line["quantity"])
            for k, f in fulfillments.items() for line in f["line_items"]
        }  # fmt: skip
        assert rows_of(s, tenant_id, InventoryLevel, "inventory_item_id", "location_id",
                       "available") == {
            (*k, level["available"]) for k, level in newest(expected, "inventory_levels").items()
        }  # fmt: skip
        items = newest(expected, "inventory_items")
        assert rows_of(s, tenant_id, InventoryItem, "shopify_id", "sku", "cost") == {
            (k, i["sku"], Decimal(i["cost"])) for k, i in items.items()
        }
        assert rows_of(s, tenant_id, OrderEdit, "shopify_id", "order_id") == {
            (k, e["order_edit"]["order_id"]) for k, e in newest(expected, "order_edits").items()
        }
        live = {k: p for k, p in newest(expected, "products").items()
                if not expected.entities["products"][k].deleted}  # fmt: skip
        variants = {v for v in rows_of(s, tenant_id, ProductVariant, "shopify_id", "product_id",
                                       "price") if v[1] in live}  # fmt: skip
        assert variants == {
            (v["id"], k, Decimal(v["price"])) for k, p in live.items() for v in p["variants"]
        }
        partial = rows_of(s, tenant_id, Product, "shopify_id", "variants_partial")
        assert {k for k, flag in partial if flag and k in live} == {
            k for k, p in live.items() if len(p["variants"]) < len(p["variant_gids"])
        }


def assert_costs(settings: Settings, tenant_id: Any, deliveries: list[Delivery]) -> None:
    """Every version of an item's cost is kept, from the time it was recorded."""
    sent = bodies(deliveries, "inventory_items/create", "inventory_items/update")
    with session_scope(settings.database_url) as s:
        kept = rows_of(s, tenant_id, InventoryItemCost, "inventory_item_id", "recorded_at", "cost")
    assert kept == {
        (i["id"], datetime.fromisoformat(i["updated_at"]), Decimal(i["cost"])) for i in sent
    }


@pytest.mark.slow
# 2026-07: checkouts known by token alone, a product past 100 variants; 2026-01: checkout ids.
@pytest.mark.parametrize(("seed", "version"), [(11, "2026-07"), (10, "2026-01")])
def test_simulated_traffic_converges_through_a_real_receiver(
    seed: int, version: str, settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    deliveries = take(seed, 800, tenant, api_version=version)
    kinds = Counter(d.kind for d in deliveries)
    assert kinds["duplicate"] > 0 and kinds["late"] > 0
    topics = Counter(d.topic for d in deliveries)
    assert all(topics[t] for t in MONEY_TOPICS if t != "orders/edited"), topics
    # Small batches, drained between chunks: late deliveries meet newer versions already committed.
    drainer = settings.with_overrides(drain_batch_size=25)
    with receiver_server(settings, tmp_path, free_port()) as base:
        for i in range(0, len(deliveries), 200):
            summary = send_all(deliveries[i : i + 200], f"{base}/webhooks", rate=5000)
            assert summary.ok, (summary.error, summary.rejected)
            assert summary.accepted == len(deliveries[i : i + 200])
            drain_all(drainer)
    expected = expected_state(deliveries)
    assert_converged(settings, tenant["id"], expected)
    assert_money_rows(settings, tenant["id"], expected)
    assert_costs(settings, tenant["id"], deliveries)
    assert any(e.deleted for e in expected.entities["checkouts"].values())
    with session_scope(settings.database_url) as s:
        statuses = Counter(s.scalars(select(WebhookEvent.status)))
    assert statuses["stale"] > 0  # some late deliveries did arrive after their newer version


@pytest.mark.slow
def test_simulate_command_sends_to_the_demo_tenant(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with receiver_server(settings, tmp_path, free_port()) as base:
        demo = {**tenant, "tenant_id": str(tenant["id"]), "receiver_url": base}
        (tmp_path / ".cartwheel").mkdir()
        (tmp_path / ".cartwheel" / "demo.json").write_text(json.dumps(demo, default=str))
        result = invoke("simulate", "--count", "150", "--rate", "1000", "--seed", "7")
        assert result.exit_code == 0, result.output
        assert f"for {tenant['shop']} to {base}/webhooks" in result.output
        assert "sent      150 in" in result.output
        assert "accepted  150" in result.output
        assert "rejected  0" in result.output
        drain_all(settings)
        # The CLI stamps the current time; ids, webhook ids and journeys follow the seed alone.
        expected = expected_state(take(7, 150, tenant))
        with session_scope(settings.database_url) as s:
            logged = set(s.scalars(select(WebhookEvent.webhook_id)))
            orders = {o.shopify_id: o.deleted_at is not None for o in s.scalars(select(Order))}
        assert logged == expected.webhook_ids
        assert orders == {k: e.deleted for k, e in expected.entities["orders"].items()}
        # The same seed again replays the same deliveries: all accepted, all deduplicated.
        again = invoke("simulate", "--count", "150", "--rate", "1000", "--seed", "7")
        assert again.exit_code == 0, again.output
        drain_all(settings)
    with session_scope(settings.database_url) as s:
        assert set(s.scalars(select(WebhookEvent.webhook_id))) == expected.webhook_ids


@pytest.mark.slow
def test_simulate_command_reports_rejections_and_fails(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with receiver_server(settings, tmp_path, free_port()) as base:
        result = invoke(
            "simulate", "--count", "12", "--rate", "1000", "--shop", tenant["shop"],
            "--secret", "not-the-secret", "--url", base,
        )  # fmt: skip
    assert result.exit_code == 1
    assert "accepted  0" in result.output
    assert "rejected  12 (401: 12)" in result.output
    assert "some deliveries were rejected" in result.output


def test_simulate_without_a_target_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("simulate", "--count", "3")
    assert result.exit_code == 1
    assert ".cartwheel/demo.json is missing" in result.output
    assert "--shop, --secret and --url" in result.output
    result = invoke("simulate", "--shop", "other.myshopify.com")
    assert result.exit_code == 1
    assert "--secret required" in result.output


def test_simulate_reports_an_unreachable_receiver(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke("simulate", "--shop", "x.myshopify.com", "--secret", "s", "--url", url)
    assert result.exit_code == 1
    assert f"cannot reach the receiver at {url}/webhooks" in result.output
    assert "sent      0" in result.output


@pytest.mark.parametrize("option", [("--rate", "0"), ("--count", "0"), ("--seed", "x")])
def test_simulate_rejects_bad_options(option: tuple[str, str]) -> None:
    assert invoke("simulate", *option).exit_code == 2
