"""Payloads of the money topics, built from Shopify's 2026-04 samples: order transactions,
refunds (goods, shipping, discrepancies, the refund transaction), fulfillments, inventory items
and levels, and order edits.

Amounts are whole cents of shop money; the buyer's currency is derived from them the one way
Shopify shows it (`Currency.cents`), so every refund's parts add up to what its transaction paid
back, in both currencies.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devtools.shapes import (
    Currency,
    Payload,
    cents_of,
    gid,
    local,
    money,
    money_set,
    new_hex,
    new_id,
    sample,
)

_SAMPLES = "2026-04"
_CARRIERS = (
    ("UPS", "https://www.ups.com/track?tracknum="),
    ("Canada Post", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor="),
)


@dataclass(frozen=True)
class RefundPlan:
    """What one refund gives back: order lines and units, the shipping, a discrepancy."""

    lines: list[tuple[Payload, int]]  # (order line, units)
    shipping: Payload | None = None  # the order's shipping line, refunded whole
    discrepancy: int = 0  # shop cents less than the parts add up to
    restock_type: str = "no_restock"
    location_id: int | None = None


def transaction(
    rng: random.Random,
    order: Payload,
    *,
    kind: str,
    presentment_cents: int,
    currency: Currency,
    at: datetime,
    parent_id: int | None = None,
) -> Payload:
    """An order transaction; like Shopify's, its amount is in the buyer's currency."""
    t = sample(f"{_SAMPLES}/order_transactions_create")
    tid = new_id(rng)
    amount = money(presentment_cents)
    t.update(id=tid, admin_graphql_api_id=gid("OrderTransaction", tid), order_id=order["id"],
             kind=kind, gateway="shopify_payments", status="success", created_at=local(at),
             processed_at=local(at), parent_id=parent_id, amount=amount, currency=currency.code,
             authorization=None if kind == "refund" else new_hex(rng)[:12],
             message="This is a refund" if kind == "refund" else None,
             payment_id=f"{order['name']}.{rng.randint(1, 9)}", manual_payment_gateway=False,
             total_unsettled_set={
                 "presentment_money": {"amount": "0.00", "currency": currency.code},
                 "shop_money": {"amount": "0.00", "currency": "USD"}})  # fmt: skip
    return t


def refund(
    rng: random.Random,
    order: Payload,
    plan: RefundPlan,
    *,
    currency: Currency,
    sale_id: int | None,
    at: datetime,
) -> Payload:
    """A refund (refunds/create, and as it then sits in the order's `refunds`)."""
    r = sample(f"{_SAMPLES}/refunds_create")
    rid = new_id(rng)
    lines = [_refund_line(rng, line, units, plan, currency) for line, units in plan.lines]
    shipping = [_refund_shipping(rng, plan.shipping, currency)] if plan.shipping else []
    adjustments = [_discrepancy(rng, plan.discrepancy, currency)] if plan.discrepancy else []
    # What the buyer gets back is what the parts add up to in the buyer's currency.
    paid = sum(_presentment(line["subtotal_set"]) for line in lines)
    paid += sum(_presentment(s["subtotal_amount_set"]) for s in shipping)
    paid -= sum(_presentment(a["amount_set"]) for a in adjustments)
    back = transaction(rng, order, kind="refund", presentment_cents=paid, currency=currency,
                       at=at, parent_id=sale_id)  # fmt: skip
    r.update(id=rid, admin_graphql_api_id=gid("Refund", rid), order_id=order["id"],
             created_at=local(at), processed_at=local(at),
             note=rng.choice((None, "Damaged in transit", "Wrong size", "Changed mind")),
             restock=plan.restock_type != "no_restock", refund_line_items=lines,
             refund_shipping_lines=shipping, order_adjustments=adjustments,
             transactions=[back])  # fmt: skip
    return r


def refunded_cents(r: Payload) -> int:
    """What a refund gave back in shop money: its goods and shipping less its discrepancies."""
    goods = sum(
        cents_of(line["subtotal_set"]["shop_money"]["amount"]) for line in r["refund_line_items"]
    )
    shipping = sum(
        cents_of(s["subtotal_amount_set"]["shop_money"]["amount"])
        for s in r["refund_shipping_lines"]
    )
    less = sum(cents_of(a["amount"]) for a in r["order_adjustments"])
    return goods + shipping - less


def _presentment(bag: Payload) -> int:
    return cents_of(bag["presentment_money"]["amount"])


def _refund_line(
    rng: random.Random, line: Payload, units: int, plan: RefundPlan, currency: Currency
) -> Payload:
    lid = new_id(rng)
    subtotal = cents_of(line["price"]) * units
    return {
        "id": lid,
        "quantity": units,
        "line_item_id": line["id"],
        "location_id": plan.location_id,
        "restock_type": plan.restock_type,
        # Shopify writes these two as JSON numbers, their *_set amounts as strings.
        "subtotal": subtotal / 100,
        "total_tax": 0,
        "subtotal_set": money_set(subtotal, currency),
        "total_tax_set": money_set(0, currency),
        "line_item": copy.deepcopy(line),
    }


def _refund_shipping(rng: random.Random, shipping: Payload, currency: Currency) -> Payload:
    return {
        "id": new_id(rng),
        "shipping_line_id": shipping["id"],
        "subtotal_amount_set": money_set(cents_of(shipping["price"]), currency),
        "tax_amount_set": money_set(0, currency),
    }


def _discrepancy(rng: random.Random, cents: int, currency: Currency) -> Payload:
    # Positive: less was paid back than the refund's parts add up to.
    return {
        "id": new_id(rng),
        "kind": "refund_discrepancy",
        "reason": "Refund discrepancy",
        "amount": money(cents),
        "amount_set": money_set(cents, currency),
        "tax_amount": "0.00",
        "tax_amount_set": money_set(0, currency),
    }


def fulfillment(rng: random.Random, order: Payload, *, location_id: int, at: datetime) -> Payload:
    """A fulfillment of every unit still due on the order (fulfillments/create)."""
    f = sample(f"{_SAMPLES}/fulfillments_create")
    fid = new_id(rng)
    company, url = rng.choice(_CARRIERS)
    number = f"1Z{rng.getrandbits(40):012X}"
    lines = [
        copy.deepcopy(line) | {"quantity": line["current_quantity"]}
        for line in order["line_items"]
        if line["current_quantity"] > 0
    ]
    f.update(id=fid, admin_graphql_api_id=gid("Fulfillment", fid), order_id=order["id"],
             status="success", service="manual", shipment_status=None, location_id=location_id,
             created_at=local(at), updated_at=local(at), email=order["email"],
             name=f"{order['name']}.{len(order['fulfillments']) + 1}", line_items=lines,
             tracking_company=company, tracking_number=number, tracking_numbers=[number],
             tracking_url=url + number, tracking_urls=[url + number])  # fmt: skip
    return f


def inventory_item(
    item_id: int, *, sku: str, cost_cents: int | None, created: datetime, at: datetime
) -> Payload:
    """An inventory item (inventory_items/create|update); its cost is in shop money."""
    item = sample(f"{_SAMPLES}/inventory_items_create")
    item.update(id=item_id, admin_graphql_api_id=gid("InventoryItem", item_id), sku=sku,
                cost=None if cost_cents is None else money(cost_cents),
                created_at=local(created), updated_at=local(at))  # fmt: skip
    return item


def inventory_level(item_id: int, location_id: int, available: int, at: datetime) -> Payload:
    """Units available of one item at one location (inventory_levels/update)."""
    level = sample(f"{_SAMPLES}/inventory_levels_update")
    level.update(inventory_item_id=item_id, location_id=location_id, available=available,
                 updated_at=local(at),
                 admin_graphql_api_id=f"gid://shopify/InventoryLevel/{location_id}"
                 f"?inventory_item_id={item_id}")  # fmt: skip
    return level


def order_edit(rng: random.Random, order_id: int, added: Payload, at: datetime) -> Payload:
    """orders/edited: a line added to a placed order."""
    body = sample(f"{_SAMPLES}/orders_edited")
    edit: dict[str, Any] = body["order_edit"]
    edit.update(id=new_id(rng), order_id=order_id, created_at=local(at), committed_at=local(at),
                staff_note=rng.choice(("", "Added at the buyer's request")),
                line_items={"additions": [{"id": added["id"], "delta": added["quantity"]}],
                            "removals": []})  # fmt: skip
    return body
