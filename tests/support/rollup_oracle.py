"""Segments and product sums of the sales scenario, computed in plain Python from the payloads.

The scenario's orders have no customer and one channel; `with_buyers` gives them both (the same
customer and channel for every version of an order), so new, returning and guest orders and
two channels appear. `segment_report` is the sales oracle (tests/support/sales_oracle.py)
restricted to one channel or customer type, read from docs/metrics.md: an order is `new` when
no counted order of the same customer was placed before it (ties by id), `returning` when one
was, `guest` without a customer. `variant_totals` sums every product figure per variant over
all time. Only the standard library and the payload dicts: never the database or cartwheel.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.sales_oracle import (
    ORDER_TOPICS,
    ZERO,
    Figures,
    Payload,
    Shop,
    _taxes,
    amount_of,
    placed_at,
)

Delivery = tuple[str, Payload]
CUSTOMER = 7_700_000_000_000
BUYERS = 4  # orders by number modulo this: 0 is a guest, the others customers 1..3


def with_buyers(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """Every order version with a customer (or none) and a channel chosen by its number."""
    out = []
    for topic, payload in deliveries:
        if topic in ORDER_TOPICS:
            payload = copy.deepcopy(payload)
            number = payload["id"] % 1000
            buyer = number % BUYERS
            payload["source_name"] = "pos" if number % 3 == 0 else "web"
            payload["customer"] = (
                None
                if buyer == 0
                else {
                    "id": CUSTOMER + buyer,
                    "email": f"c{buyer}@example.com",
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                }
            )
        out.append((topic, payload))
    return out


def customer_types(shop: Shop) -> dict[int, str]:
    """Order id -> new | returning | guest, over the counted orders."""
    firsts: dict[int, tuple[Any, int]] = {}
    for order in shop.counted():
        customer = (order.get("customer") or {}).get("id")
        if customer is not None:
            key = (placed_at(order), order["id"])
            firsts[customer] = min(firsts.get(customer, key), key)
    types = {}
    for order in shop.counted():
        customer = (order.get("customer") or {}).get("id")
        if customer is None:
            types[order["id"]] = "guest"
        else:
            types[order["id"]] = "new" if firsts[customer][1] == order["id"] else "returning"
    return types


class SegmentShop(Shop):
    """The sales oracle's shop, counting only the orders of one segment."""

    keep: set[int]

    def counted(self) -> list[Payload]:
        return [o for o in super().counted() if o["id"] in self.keep]


def segment_report(
    deliveries: list[Delivery],
    start: date,
    end: date,
    tz: str,
    *,
    channel: str | None = None,
    customer_type: str | None = None,
) -> dict[str, Any]:
    """The sales report's totals for one segment (the days' figures as in sales_oracle)."""
    whole = Shop.of(deliveries)
    types = customer_types(whole)
    shop = SegmentShop(whole.orders, whole.refunds, whole.deleted, whole.items, whole.costs)
    shop.keep = {
        o["id"]
        for o in whole.counted()
        if (channel is None or (o.get("source_name") or "") == channel)
        and (customer_type is None or types[o["id"]] == customer_type)
    }
    zone = ZoneInfo(tz)
    days = {start + timedelta(days=n): Figures() for n in range((end - start).days + 1)}
    for at, figures in shop.events():
        day = at.astimezone(zone).date()
        if day in days:
            days[day] += figures
    return {
        "totals": sum(days.values(), Figures()).answer(),
        "days": [{"date": d.isoformat()} | f.answer() for d, f in days.items()],
    }


def variant_totals(deliveries: list[Delivery]) -> dict[tuple[int, int], dict[str, Decimal]]:
    """Per (product id, variant id), over all time: units sold and returned (refunded, or left
    on a cancelled order), gross sales, discounts and returns (negative), net sales."""
    shop = Shop.of(deliveries)
    sums: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(("sold", "returned", "gross", "discounts", "returns"), ZERO)
    )
    for order in shop.counted():
        included = bool(order.get("taxes_included"))
        lines = {line["id"]: line for line in order.get("line_items") or ()}
        back: dict[int, tuple[int, Decimal]] = defaultdict(lambda: (0, ZERO))
        for refund in (r for r in shop.refunds.values() if r.get("order_id") == order["id"]):
            for item in refund.get("refund_line_items") or ():
                line = lines.get(item["line_item_id"]) or item.get("line_item") or {}
                if line.get("gift_card"):
                    continue
                goods = amount_of(item, "subtotal") - (
                    amount_of(item, "total_tax") if included else ZERO
                )
                key = (line.get("product_id") or 0, line.get("variant_id") or 0)
                sums[key]["returned"] += item["quantity"]
                sums[key]["returns"] -= goods
                units, money = back[item["line_item_id"]]
                back[item["line_item_id"]] = (units + item["quantity"], money + goods)
        for line in lines.values():
            if line.get("gift_card"):
                continue
            key = (line.get("product_id") or 0, line.get("variant_id") or 0)
            gross = amount_of(line, "price") * line["quantity"] - (
                _taxes(line) if included else ZERO
            )
            discount = sum((amount_of(a, "amount") for a in line["discount_allocations"]), ZERO)
            sums[key]["sold"] += line["quantity"]
            sums[key]["gross"] += gross
            sums[key]["discounts"] -= discount
            if order.get("cancelled_at"):
                units, money = back[line["id"]]
                sums[key]["returned"] += line["quantity"] - units
                sums[key]["returns"] -= gross - discount - money
    return dict(sums)
