"""Backfill against the fake Admin API and real PostgreSQL: exact, resumable, never overwrites
newer webhook data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

import resources
from core.settings import Settings
from models import (
    BackfillCheckpoint,
    BackfillRun,
    Checkout,
    Order,
    OrderLineItem,
    Product,
    ProductVariant,
    SyncWatermark,
)
from models.db import session_scope
from shops.syncs import BackfillError, start_run
from tests.plugins.fake_admin import Wired
from tests.support.fake_admin import expected_orders, order_webhook, stored_orders
from tests.support.pipeline import drain_all
from tests.support.processes import ROOT, child_env
from tests.support.samples import sample_json
from tests.support.webhooks import Sender
from workers.runtime import Resources
from workers.sync import bulk_file
from workers.sync.backfill import run_backfill

CARTWHEEL = str(Path(sys.executable).parent / "cartwheel")


def new_run(settings: Settings, wired: Wired, resources: list[str], **kw: Any) -> uuid.UUID:
    with session_scope(settings.database_url) as session:
        run, _ = start_run(session, tenant_id=wired.tenant_id, resources=resources, **kw)
        return run.id


def backfill(settings: Settings, wired: Wired, resources: list[str], **kw: Any) -> Any:
    run_id = new_run(settings, wired, resources, since=kw.pop("since", None))
    return run_backfill(Resources(settings), tenant_id=wired.tenant_id, run_id=run_id, **kw)


def count(settings: Settings, model: Any) -> int:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def bag(rest: dict[str, Any], name: str) -> dict[str, Any]:
    """A REST `<name>_set` as the Admin API's MoneyBag."""
    amounts = rest[f"{name}_set"]
    return {
        "shopMoney": {
            "amount": amounts["shop_money"]["amount"],
            "currencyCode": amounts["shop_money"]["currency_code"],
        },
        "presentmentMoney": {
            "amount": amounts["presentment_money"]["amount"],
            "currencyCode": amounts["presentment_money"]["currency_code"],
        },
    }


def zero_bag(rest: dict[str, Any]) -> dict[str, Any]:
    zero = {"amount": "0.00", "currencyCode": rest["currency"]}
    return {"shopMoney": zero, "presentmentMoney": dict(zero)}


def test_a_graphql_order_maps_to_the_columns_its_webhook_produces() -> None:
    rest = sample_json("orders_create")
    node = {
        "id": rest["admin_graphql_api_id"],
        "name": rest["name"],
        "email": rest["email"],
        "createdAt": rest["created_at"],
        "updatedAt": rest["updated_at"],
        "processedAt": rest["processed_at"],
        "cancelledAt": rest["cancelled_at"],
        "closedAt": rest["closed_at"],
        "cancelReason": rest["cancel_reason"].upper(),
        "displayFinancialStatus": rest["financial_status"].upper(),
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": rest["currency"],
        "presentmentCurrencyCode": rest["presentment_currency"],
        "taxesIncluded": rest["taxes_included"],
        "test": rest["test"],
        "sourceName": rest["source_name"],
        "cartToken": rest["cart_token"],
        "checkoutToken": rest["checkout_token"],
        **{
            f"{k}Set": bag(rest, v)
            for k, v in {
                "totalPrice": "total_price",
                "subtotalPrice": "subtotal_price",
                "totalTax": "total_tax",
                "totalDiscounts": "total_discounts",
                "currentTotalPrice": "current_total_price",
                "totalShippingPrice": "total_shipping_price",
            }.items()
        },
        "totalRefundedSet": zero_bag(rest),
        "totalTipReceivedSet": zero_bag(rest),
        "originalTotalDutiesSet": None,
        "customer": {"id": rest["customer"]["admin_graphql_api_id"]},
        "discountCodes": [c["code"] for c in rest["discount_codes"]],
        "taxLines": [],
        "shippingLines": [],
        "transactions": [],
        "refunds": [],
        "fulfillments": [],
    }
    children = [
        {
            "id": li["admin_graphql_api_id"],
            "sku": li["sku"],
            "title": li["title"],
            "vendor": li["vendor"],
            "quantity": li["quantity"],
            "currentQuantity": li["current_quantity"],
            "isGiftCard": li["gift_card"],
            "originalUnitPriceSet": bag(li, "price"),
            "totalDiscountSet": bag(li, "total_discount"),
            "discountAllocations": [
                {"allocatedAmountSet": bag(a, "amount")} for a in li["discount_allocations"]
            ],
            "taxLines": [{"priceSet": bag(t, "price")} for t in li["tax_lines"]],
            "duties": [],
            "product": {"id": f"gid://shopify/Product/{li['product_id']}"}
            if li["product_id"]
            else None,
            "variant": {"id": f"gid://shopify/ProductVariant/{li['variant_id']}"}
            if li["variant_id"]
            else None,
        }
        for li in rest["line_items"]
    ]
    orders = resources.get("orders")
    record = orders.pulled_row(node, children, tenant_id=uuid.uuid4(), source="test")
    webhook = orders.loader.load(rest)
    assert record.key == webhook["id"]
    assert record.updated_at == webhook["updated_at"]
    for column, value in record.values.items():
        assert value == webhook[column], column
    spec = {c.field: c for c in orders.children}["line_items"]
    assert record.children is not None
    pulled = {li["shopify_id"]: li for li in record.children["line_items"]}
    for li in webhook["line_items"]:
        for column in spec.columns:
            assert pulled[li["id"]][column] == li[column], column


def test_a_backfill_of_20000_orders_lands_exactly(settings: Settings, wire_shop: Any) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=20_000, customers=2_000, products=150)
    settings = settings.with_overrides(backfill_bucket_bytes=2 << 20, bulk_poll_interval=0.1)
    progress: list[tuple[str, int, int]] = []
    summary = backfill(settings, wired, ["orders"], on_progress=lambda *p: progress.append(p))
    assert summary["orders"] == {"seen": 20_000, "written": 20_000}
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)
    line_items = sum(len(n["lineItems"]) for n in wired.shop.listing("Order"))
    assert count(settings, OrderLineItem) == line_items
    assert progress[-1] == ("orders", 20_000, 20_000)
    assert len(progress) > 3  # per bucket, not only at the end
    with session_scope(settings.database_url) as s:
        marks = {w.resource: w.source for w in s.scalars(select(SyncWatermark))}
        order = s.scalar(select(Order).limit(1))
    assert marks == {"orders": "backfill"}
    assert order is not None and order.webhook_id.startswith("backfill:")
    assert order.triggered_at is None and order.payload["lineItems"]


def test_every_resource_lands_and_a_second_backfill_writes_nothing_new(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=300, customers=50, products=10, checkouts=30)
    settings = settings.with_overrides(bulk_poll_interval=0.1)
    first = backfill(settings, wired, ["customers", "products", "orders", "checkouts"])
    assert first == {
        "customers": {"seen": 50, "written": 50},
        "products": {"seen": 10, "written": 10},
        "orders": {"seen": 300, "written": 300},
        "checkouts": {"seen": 30, "written": 30},
    }
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)
    variants = sum(len(p["variants"]) for p in wired.shop.listing("Product"))
    assert count(settings, ProductVariant) == variants
    with session_scope(settings.database_url) as s:
        tokens = set(s.scalars(select(Checkout.token)))
        product = s.scalars(select(Product)).first()
    assert tokens == {
        n["abandonedCheckoutUrl"].split("/checkouts/")[1].split("/")[0]
        for n in wired.shop.listing("AbandonedCheckout")
    }
    assert product is not None and product.status == "active" and product.price is not None
    again = backfill(settings, wired, ["customers", "products", "orders", "checkouts"])
    assert {r: c["written"] for r, c in again.items()} == dict.fromkeys(first, 0)


def test_backfill_racing_live_webhooks_ends_with_the_newest_versions(
    settings: Settings, wire_shop: Any, client: FlaskClient
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=1500, customers=150, products=20)
    sender = Sender(client, shop=wired.shop.domain, secret=wired.secret)
    settings = settings.with_overrides(backfill_bucket_bytes=32 * 1024, bulk_poll_interval=0.1)
    orders = wired.shop.listing("Order")
    early, late, tied = orders[:30], orders[700:730], orders[1400:1430]
    later = datetime.now(UTC) + timedelta(minutes=5)

    def deliver(nodes: list[dict[str, Any]], total: Decimal | None) -> None:
        for node in nodes:
            if total is not None:
                wired.shop.set_total(node["id"], total, at=later)
            assert sender.send("orders/updated", order_webhook(node)).status_code == 200
        drain_all(settings)

    # Webhooks newer than the bulk snapshot, landing before the backfill writes those orders...
    snapshot: dict[str, Any] = {}

    def on_progress(resource: str, done: int, total: int) -> None:
        if done and not snapshot:
            snapshot["done"] = done
            deliver(early, Decimal("1.11"))
            deliver(late, Decimal("2.22"))
            # ...and webhooks for the very version the snapshot holds: equal updated_at.
            for node in tied:
                node["totalPriceSet"]["shopMoney"]["amount"] = "3.33"
            deliver(tied, None)

    backfill(settings, wired, ["orders"], on_progress=on_progress)
    assert snapshot, "the backfill reported no progress"
    # ...and webhooks for the same orders again after it, with the same newest bodies.
    deliver(late, None)
    stored = stored_orders(settings, wired.tenant_id)
    assert stored == expected_orders(wired.shop)
    assert {stored[int(n["id"].rsplit("/", 1)[1])][0] for n in early} == {Decimal("1.11")}
    assert {stored[int(n["id"].rsplit("/", 1)[1])][0] for n in tied} == {Decimal("3.33")}
    with session_scope(settings.database_url) as s:
        tied_ids = [int(n["id"].rsplit("/", 1)[1]) for n in tied]
        sources = set(s.scalars(select(Order.webhook_id).where(Order.shopify_id.in_(tied_ids))))
    assert not any(w.startswith("backfill:") for w in sources)


class Abort(Exception):
    pass


def test_an_interrupted_backfill_resumes_from_its_checkpoint(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=1000, customers=100, products=20)
    settings = settings.with_overrides(backfill_bucket_bytes=16 * 1024, bulk_poll_interval=0.1)
    run_id = new_run(settings, wired, ["orders"], since=None)

    def stop_midway(resource: str, done: int, total: int) -> None:
        if done >= total // 3:
            raise Abort

    with pytest.raises(Abort):
        run_backfill(
            Resources(settings), tenant_id=wired.tenant_id, run_id=run_id, on_progress=stop_midway
        )
    with session_scope(settings.database_url) as s:
        cp = s.get(BackfillCheckpoint, (wired.tenant_id, run_id, "orders"))
        run = s.get(BackfillRun, (wired.tenant_id, run_id))
        assert cp is not None and run is not None
        done_before, buckets, first_op = cp.rows_seen, cp.bucket_count, cp.bulk_operation_id
        assert run.status == "failed" and "Abort" in (run.error or "")
    assert 0 < done_before < 1000 and buckets and buckets > 3
    assert 0 < count(settings, Order) == done_before

    resumed_from: list[int] = []
    with session_scope(settings.database_url) as session:
        again, resumed = start_run(
            session, tenant_id=wired.tenant_id, resources=["orders"], since=None
        )
    assert resumed and again.id == run_id
    summary = run_backfill(
        Resources(settings),
        tenant_id=wired.tenant_id,
        run_id=run_id,
        on_progress=lambda r, done, t: resumed_from.append(done),
    )
    assert resumed_from[0] == done_before  # it did not start over
    assert summary["orders"] == {"seen": 1000, "written": 1000}
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)
    with session_scope(settings.database_url) as s:
        cp = s.get(BackfillCheckpoint, (wired.tenant_id, run_id, "orders"))
        assert cp is not None and cp.bulk_operation_id == first_op  # the same bulk result
    assert len(wired.fake.bulk.ops) == 1


def test_a_killed_backfill_process_resumes_without_duplicates(
    settings: Settings, wire_shop: Any, tmp_path: Path
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=3000, customers=300, products=30)
    env = child_env(
        settings.with_overrides(
            backfill_bucket_bytes=8 * 1024, bulk_poll_interval=0.1, backfill_dir=str(tmp_path)
        )
    )
    args = [CARTWHEEL, "backfill", "--tenant", str(wired.tenant_id), "--resources", "orders"]
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count(settings, Order) < 300:
            time.sleep(0.02)
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        first.wait(timeout=30)
    killed_at = count(settings, Order)
    assert 0 < killed_at < 3000
    second = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "resuming backfill" in second.stdout
    assert "3,000 rows pulled" in second.stdout
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)
    assert len(wired.fake.bulk.ops) == 1  # resumed from the same result, not a new operation
    with session_scope(settings.database_url) as s:
        [cp] = s.scalars(select(BackfillCheckpoint))
        assert cp.status == "completed" and cp.rows_seen == 3000
    assert not list(tmp_path.rglob("*.jsonl"))  # the split is removed once applied


def test_a_busy_bulk_slot_is_waited_for(settings: Settings, wire_shop: Any) -> None:
    wired = wire_shop(bulk_concurrency=1)
    wired.shop.seed(orders=50, customers=10, products=5)
    wired.fake.bulk.settings.run_seconds = 1.0
    other, errors = wired.fake.bulk.start(
        wired.shop, "{ customers { edges { node { id } } } }", "2026-07", False
    )
    assert other is not None and not errors
    settings = settings.with_overrides(bulk_poll_interval=0.2)
    assert backfill(settings, wired, ["orders"])["orders"]["seen"] == 50
    assert other.status == "COMPLETED"


def test_an_expired_result_url_fails_cleanly_after_retrying(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=20, customers=5, products=2)
    wired.fake.bulk.settings.url_ttl = -60  # every URL is born expired
    settings = settings.with_overrides(bulk_poll_interval=0.1)
    with pytest.raises(BackfillError, match="no usable bulk operation"):
        backfill(settings, wired, ["orders"])
    assert count(settings, Order) == 0
    with session_scope(settings.database_url) as s:
        [run] = s.scalars(select(BackfillRun))
    assert run.status == "failed"


def test_since_filters_the_bulk_query(settings: Settings, wire_shop: Any) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=400, customers=40, products=5)
    cut = datetime.now(UTC) - timedelta(days=10)
    newer = [
        n
        for n in wired.shop.listing("Order")
        if datetime.fromisoformat(n["updatedAt"].replace("Z", "+00:00")) >= cut
    ]
    settings = settings.with_overrides(bulk_poll_interval=0.1)
    summary = backfill(settings, wired, ["orders"], since=cut)
    assert summary["orders"]["seen"] == len(newer) < 400
    [op] = wired.fake.bulk.ops.values()
    assert "updated_at:>=" in op.query
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(SyncWatermark)) == 0  # a gap remains


def test_the_cli_needs_credentials(settings: Settings, make_tenant: Any) -> None:
    tenant = make_tenant()
    result = subprocess.run(
        [CARTWHEEL, "backfill", "--tenant", tenant["shop"]],
        env=child_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "set-credentials" in result.stderr
    assert "Traceback" not in result.stderr


def test_children_join_their_parent_wherever_they_are_in_the_file(tmp_path: Path) -> None:
    def line(obj: dict[str, Any]) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    parents = [{"id": f"gid://shopify/Order/{n}", "name": f"#{n}"} for n in range(1, 301)]
    lines = [line(p) for p in parents]
    # A child before its parent, one far after it, some at the very end, one odd key order.
    lines.insert(0, line({"id": "gid://shopify/LineItem/1", "__parentId": parents[0]["id"]}))
    lines.insert(150, line({"id": "gid://shopify/LineItem/2", "__parentId": parents[2]["id"]}))
    lines += [
        line({"id": f"gid://shopify/LineItem/{n}", "__parentId": parents[n % 300]["id"]})
        for n in range(3, 60)
    ]
    lines.append(
        b'{"quantity":1,"id":"gid://shopify/LineItem/99","__parentId":"'
        + parents[7]["id"].encode()
        + b'"}'
    )
    assert bulk_file.split(iter(lines), tmp_path, 7, "tag") == len(lines)
    assert bulk_file.completed_split(tmp_path, "tag") == 7
    assert bulk_file.completed_split(tmp_path, "another result") is None
    joined: dict[str, list[str]] = {}
    for index in range(7):
        pairs, _, orphans = bulk_file.read_bucket(tmp_path, index)
        assert orphans == 0
        joined.update({p["id"]: sorted(c["id"] for c in kids) for p, kids in pairs})
    assert len(joined) == 300
    assert joined[parents[0]["id"]] == ["gid://shopify/LineItem/1"]
    assert "gid://shopify/LineItem/2" in joined[parents[2]["id"]]
    assert "gid://shopify/LineItem/99" in joined[parents[7]["id"]]
    assert sum(len(kids) for kids in joined.values()) == 2 + 57 + 1
