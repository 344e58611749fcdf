"""The CLV models' inputs computed in plain Python from the payloads Shopify delivered.

A second reading of docs/metrics.md, "Predictive CLV": from the webhook payload dicts only
(never the database, never cartwheel's code). A purchase is a local day with counted orders
of a customer (not test, not deleted, not cancelled, the customer's record not deleted); its
value is those orders' total price less their refunds processed by the day the history ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

Payload = dict[str, Any]
ZERO = Decimal(0)
ORDER_TOPICS = {"orders/create", "orders/updated", "orders/paid", "orders/cancelled"}


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def summary(
    deliveries: Iterable[tuple[str, Payload]], tz: str, end: date, final: date | None = None
) -> dict[int, Payload]:
    """Per customer id: frequency, recency, age, monetary (to the cent, None without a repeat
    purchase), and the purchases and their value after `end` up to `final`."""
    final = final or end
    zone = ZoneInfo(tz)
    orders: dict[int, Payload] = {}
    refunds: dict[int, Payload] = {}
    gone_orders: set[int] = set()
    gone_customers: set[int] = set()
    for topic, p in deliveries:
        if topic in ORDER_TOPICS:
            known = orders.get(p["id"])
            if known is None or _instant(p["updated_at"]) > _instant(known["updated_at"]):
                orders[p["id"]] = p
            for r in p.get("refunds") or ():
                refunds[r["id"]] = r | {"order_id": p["id"]}
        elif topic == "refunds/create":
            refunds[p["id"]] = p
        elif topic == "orders/delete":
            gone_orders.add(p["id"])
        elif topic == "customers/delete":
            gone_customers.add(p["id"])

    def day(at: str) -> date:
        return _instant(at).astimezone(zone).date()

    counted = {
        o["id"]: o
        for o in orders.values()
        if not o.get("test")
        and o["id"] not in gone_orders
        and not o.get("cancelled_at")
        and o.get("customer")
        and o["customer"]["id"] not in gone_customers
        and day(o.get("processed_at") or o["created_at"]) <= final
    }
    back: dict[int, list[tuple[date, Decimal]]] = {}
    for r in refunds.values():
        if r["order_id"] in counted:
            paid = sum(
                (
                    Decimal(str(t["amount"]))
                    for t in r.get("transactions") or ()
                    if t.get("kind") == "refund" and t.get("status") == "success"
                ),
                ZERO,
            )
            back.setdefault(r["order_id"], []).append(
                (day(r.get("processed_at") or r["created_at"]), paid)
            )
    purchases: dict[int, dict[date, list[Decimal]]] = {}
    for o in counted.values():
        on = day(o.get("processed_at") or o["created_at"])
        total = Decimal(o["total_price"])
        by_end = total - sum((a for d, a in back.get(o["id"], ()) if d <= end), ZERO)
        by_final = total - sum((a for d, a in back.get(o["id"], ()) if d <= final), ZERO)
        slot = purchases.setdefault(o["customer"]["id"], {}).setdefault(on, [ZERO, ZERO])
        slot[0] += by_end
        slot[1] += by_final
    out: dict[int, Payload] = {}
    for customer, days in purchases.items():
        before = sorted(d for d in days if d <= end)
        if not before:
            continue
        repeat = [days[d][0] for d in before[1:]]
        after = [d for d in days if end < d <= final]
        out[customer] = {
            "frequency": len(before) - 1,
            "recency": (before[-1] - before[0]).days,
            "age": (end - before[0]).days,
            "monetary": cents(sum(repeat, ZERO) / len(repeat)) if repeat else None,
            "holdout_purchases": len(after),
            "holdout_value": sum((days[d][1] for d in after), ZERO),
        }
    return out
