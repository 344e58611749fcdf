"""Backfill (bulk operations) and reconcile (paginated queries) pull the money resources from
the fake Admin API into the same rows the webhooks produce: refunds with their parts,
transactions, fulfillments with their lines, inventory items with their costs and levels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.settings import Settings
from devtools.fake_shopify.orders import seed_refund_cases
from models import (
    Fulfillment,
    FulfillmentLineItem,
    InventoryItem,
    InventoryLevel,
    Order,
    OrderAdjustment,
    OrderTransaction,
    Refund,
    RefundLineItem,
    RefundShippingLine,
)
from models.db import session_scope
from shops.syncs import start_run
from tests.plugins.fake_admin import Wired
from workers.runtime import Resources
from workers.sync.backfill import run_backfill
from workers.sync.reconcile import reconcile_tenant

MONTHS = 120 * 24 * 3600


def numeric(value: Any) -> int:
    return int(str(value["id"] if isinstance(value, dict) else value).rsplit("/", 1)[-1])


def shop_amount(bag: dict[str, Any]) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def expected(wired: Wired) -> dict[str, Any]:
    """What the rows must hold, read straight off the fake shop's nodes."""
    orders = wired.shop.listing("Order")
    refunds = [r for o in orders for r in o["refunds"]]
    fulfillments = [f for o in orders for f in o["fulfillments"]]
    items = wired.shop.listing("InventoryItem")
    return {
        "refunds": {
            numeric(r): (numeric(o), shop_amount(r["totalRefundedSet"]))
            for o in orders
            for r in o["refunds"]
        },
        "refund_lines": {
            numeric(line): (numeric(r), line["quantity"], shop_amount(line["subtotalSet"]))
            for r in refunds
            for line in r["refundLineItems"]
        },
        "shipping_refunds": {numeric(s) for r in refunds for s in r["refundShippingLines"]},
        "adjustments": {numeric(a) for r in refunds for a in r["orderAdjustments"]},
        "transactions": {
            numeric(t): (numeric(o), t["kind"].lower(), shop_amount(t["amountSet"]))
            for o in orders
            for t in o["transactions"]
        },
        "fulfillments": {numeric(f): numeric(o) for o in orders for f in o["fulfillments"]},
        "fulfilled": sorted(
            (numeric(f), numeric(line["lineItem"]), line["quantity"])
            for f in fulfillments
            for line in f["fulfillmentLineItems"]
        ),
        "items": {
            numeric(i): Decimal(i["unitCost"]["amount"]) if i["unitCost"] else None for i in items
        },
        "levels": {
            (numeric(i), numeric(level["location"])): next(
                q["quantity"] for q in level["quantities"] if q["name"] == "available"
            )
            for i in items
            for level in i["inventoryLevels"]
        },
        "orders_refunded": {numeric(o): shop_amount(o["totalRefundedSet"]) for o in orders},
    }


def stored(settings: Settings) -> dict[str, Any]:
    with session_scope(settings.database_url) as s:

        def all_of(model: Any) -> list[Any]:
            return list(s.scalars(select(model)))

        return {
            "refunds": {r.shopify_id: (r.order_id, r.total_refunded) for r in all_of(Refund)},
            "refund_lines": {
                r.shopify_id: (r.refund_id, r.quantity, r.subtotal) for r in all_of(RefundLineItem)
            },
            "shipping_refunds": {r.shopify_id for r in all_of(RefundShippingLine)},
            "adjustments": {r.shopify_id for r in all_of(OrderAdjustment)},
            "transactions": {
                t.shopify_id: (t.order_id, t.kind, t.amount_shop) for t in all_of(OrderTransaction)
            },
            "fulfillments": {f.shopify_id: f.order_id for f in all_of(Fulfillment)},
            "fulfilled": sorted(
                (f.fulfillment_id, f.line_item_id, f.quantity) for f in all_of(FulfillmentLineItem)
            ),
            "items": {i.shopify_id: i.cost for i in all_of(InventoryItem)},
            "levels": {
                (lv.inventory_item_id, lv.location_id): lv.available
                for lv in all_of(InventoryLevel)
            },
            "orders_refunded": {o.shopify_id: o.total_refunded for o in all_of(Order)},
        }


def seed(wired: Wired) -> None:
    now = datetime.now(UTC)
    seed_refund_cases(wired.shop, now)
    for n in range(3):
        item = wired.shop.add_inventory_item(now, sku=f"SKU-{n}", levels={0: 5 + n, 1: n})
        wired.shop.set_unit_cost(item["id"], Decimal(f"{n + 4}.25"), now)
    wired.shop.add_inventory_item(now, sku="no-cost", levels={0: 1})


@pytest.fixture
def money_shop(wire_shop: Callable[..., Wired]) -> Wired:
    wired = wire_shop()
    seed(wired)
    want = expected(wired)
    # The cases cover what the pulls must read: parts in lists, shipping refunds, adjustments.
    assert want["refund_lines"] and want["shipping_refunds"] and want["adjustments"]
    assert want["fulfilled"] and want["levels"] and want["transactions"]
    return wired


def test_a_backfill_pulls_the_money_resources(money_shop: Wired, settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        run, _ = start_run(
            session,
            tenant_id=money_shop.tenant_id,
            resources=["orders", "inventory_items"],
            since=None,
        )
        run_id = run.id
    run_backfill(Resources(settings), tenant_id=money_shop.tenant_id, run_id=run_id)
    assert stored(settings) == expected(money_shop)


def test_a_reconcile_pulls_the_money_resources(money_shop: Wired, settings: Settings) -> None:
    settings = settings.with_overrides(reconcile_lookback_seconds=MONTHS)
    summary = reconcile_tenant(Resources(settings), tenant_id=money_shop.tenant_id)
    assert summary.status == "completed"
    assert stored(settings) == expected(money_shop)
