"""The products report and the order-list filters computed in plain Python from the payloads
Shopify delivered (never the database, never cartwheel's code): a second reading of
docs/metrics.md, "Products".

It reuses the sales oracle's reading of the deliveries (`Shop`: newest versions, refunds,
deleted orders, unit costs in force when an order was placed) and adds products, inventory
levels and customers. Per line: the sale on the placed day, each refund line's return on its
refund's day, and on the cancelled day what the refunds left of the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.sales_oracle import ZERO, Payload, Shop, amount_of, instant, money, placed_at

ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")


@dataclass
class Sums:
    units_sold: int = 0
    units_returned: int = 0
    gross: Decimal = ZERO
    discounts: Decimal = ZERO
    returns: Decimal = ZERO
    cost: Decimal = ZERO
    costed_net: Decimal = ZERO
    costed_units: int = 0

    def add(self, other: Sums) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def net(self) -> Decimal:
        return self.gross + self.discounts + self.returns

    def answer(self) -> dict[str, Any]:
        net_units = self.units_sold - self.units_returned
        return {
            "units_sold": self.units_sold,
            "units_returned": self.units_returned,
            "net_units": net_units,
            "gross_sales": money(self.gross),
            "discounts": money(self.discounts),
            "returns": money(self.returns),
            "net_sales": money(self.net),
            "refund_rate": ratio(self.units_returned, self.units_sold),
            "cost_of_goods_sold": money(self.cost),
            "net_sales_with_cost_recorded": money(self.costed_net),
            "gross_profit": money(self.costed_net - self.cost),
            "units_with_cost": self.costed_units,
            "cost_coverage": ratio(self.costed_units, net_units),
        }


def ratio(part: Decimal | int, whole: Decimal | int) -> float | None:
    if not whole:
        return None
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


@dataclass
class Store:
    shop: Shop
    products: dict[int, Payload] = field(default_factory=dict)
    levels: dict[tuple[int, int], Payload] = field(default_factory=dict)
    customers: dict[int, Payload] = field(default_factory=dict)
    deleted_customers: set[int] = field(default_factory=set)

    @classmethod
    def of(cls, deliveries: Iterable[tuple[str, Payload]]) -> Store:
        data = list(deliveries)
        store = cls(Shop.of(data))
        for topic, p in data:
            if topic.startswith("products/"):
                store.products[p["id"]] = p
            elif topic.startswith("inventory_levels/"):
                store.levels[(p["inventory_item_id"], p["location_id"])] = p
            elif topic in ("customers/create", "customers/update"):
                store.customers[p["id"]] = p
            elif topic == "customers/delete":
                store.deleted_customers.add(p["id"])
        return store

    def customer_types(self) -> dict[int, str]:
        """order id -> new | returning | guest, for the counted orders."""
        out: dict[int, str] = {}
        seen: set[int] = set()
        for order in sorted(self.shop.counted(), key=lambda o: (placed_at(o), o["id"])):
            buyer = (order.get("customer") or {}).get("id")
            out[order["id"]] = "guest" if buyer is None else "returning" if buyer in seen else "new"
            if buyer is not None:
                seen.add(buyer)
        return out

    def line_events(self) -> list[tuple[datetime, Payload, Payload, Sums]]:
        """(instant, order, line, its sums) for every sale, return and cancellation."""
        out = []
        for order in self.shop.counted():
            included, placed = bool(order.get("taxes_included")), placed_at(order)
            refunds = [r for r in self.shop.refunds.values() if r.get("order_id") == order["id"]]
            for line in order.get("line_items") or ():
                if line.get("gift_card"):
                    continue
                unit = self.shop.unit_cost(line, placed)
                tax = sum((amount_of(t, "price") for t in line.get("tax_lines") or ()), ZERO)
                gross = amount_of(line, "price") * line["quantity"] - (tax if included else ZERO)
                discount = sum((amount_of(a, "amount") for a in line["discount_allocations"]), ZERO)
                sale = Sums(units_sold=line["quantity"], gross=gross, discounts=-discount)
                _cost(sale, unit, line["quantity"], gross - discount)
                out.append((placed, order, line, sale))
                back_units, back_goods = 0, ZERO
                for refund in refunds:
                    for item in refund.get("refund_line_items") or ():
                        if item["line_item_id"] != line["id"]:
                            continue
                        rtax = amount_of(item, "total_tax")
                        goods = amount_of(item, "subtotal") - (rtax if included else ZERO)
                        back_units += item["quantity"]
                        back_goods += goods
                        part = Sums(units_returned=item["quantity"], returns=-goods)
                        _cost(part, unit, -item["quantity"], -goods)
                        at = instant(refund.get("processed_at") or refund["created_at"])
                        out.append((at, order, line, part))
                if order.get("cancelled_at"):
                    units, left = line["quantity"] - back_units, gross - discount - back_goods
                    part = Sums(units_returned=units, returns=-left)
                    _cost(part, unit, -units, -left)
                    out.append((instant(order["cancelled_at"]), order, line, part))
        return out

    def available(self, variant_ids: set[int]) -> int | None:
        """Units available now at every location of these variants' items (None: untracked)."""
        items = {
            v["inventory_item_id"]
            for p in self.products.values()
            for v in p.get("variants") or ()
            if v["id"] in variant_ids
        }
        counts = [
            lv["available"]
            for (item, _), lv in self.levels.items()
            if item in items and lv["available"] is not None
        ]
        return sum(counts) if counts else None


def _cost(sums: Sums, unit: Decimal | None, units: int, net: Decimal) -> None:
    if unit is not None:
        sums.cost = unit * units
        sums.costed_net = net
        sums.costed_units = units


def products_report(
    deliveries: Iterable[tuple[str, Payload]],
    start: date,
    end: date,
    tz: str,
    group_by: str = "product",
    **filters: str,
) -> dict[str, Any]:
    """What GET /api/analytics/products answers for these deliveries (figures by group key)."""
    store = Store.of(deliveries)
    zone = ZoneInfo(tz)
    length = (end - start).days + 1
    before = start - timedelta(days=length)
    types = store.customer_types()
    current: dict[Any, Sums] = {}
    previous: dict[Any, Sums] = {}
    for at, order, line, sums in store.line_events():
        day = at.astimezone(zone).date()
        product = store.products.get(line.get("product_id") or 0) or {}
        dims = {
            "channel": order.get("source_name") or "",
            "customer_type": types[order["id"]],
            "product_type": product.get("product_type") or "",
            "vendor": product.get("vendor") or "",
        }
        if any(dims[k].lower() != v.lower() for k, v in filters.items()):
            continue
        key = _group_key(group_by, line, dims)
        target = current if start <= day <= end else previous if before <= day < start else None
        if target is not None:
            target.setdefault(key, Sums()).add(sums)
    items = {}
    for key, sums in current.items():
        item = sums.answer()
        prior = previous.get(key, Sums()).net
        item["previous_net_sales"] = money(prior)
        item["growth"] = ratio(sums.net - prior, abs(prior)) if prior else None
        if group_by in ("product", "variant"):
            variants = _variants_of(store, group_by, key)
            available = store.available(variants)
            item["available"] = available
            whole = item["net_units"] + available if available is not None else 0
            item["sell_through"] = ratio(item["net_units"], whole) if whole > 0 else None
        items[key] = item
    totals = Sums()
    for sums in current.values():
        totals.add(sums)
    growth = {k: s.net - previous.get(k, Sums()).net for k, s in current.items()}
    trending = sorted((k for k in growth if growth[k] > 0), key=lambda k: (-growth[k], str(k)))
    return {
        "totals": totals.answer(),
        "items": items,
        "top_by_net_sales": sorted(current, key=lambda k: -current[k].net)[:5],
        "trending": trending[:5],
    }


def _group_key(group_by: str, line: Payload, dims: dict[str, str]) -> Any:
    if group_by == "product":
        return line.get("product_id")
    if group_by == "variant":
        return (line.get("product_id"), line.get("variant_id"))
    return dims[group_by] or None


def _variants_of(store: Store, group_by: str, key: Any) -> set[int]:
    if group_by == "variant":
        return {key[1]} if key[1] else set()
    product = store.products.get(key or 0) or {}
    return {v["id"] for v in product.get("variants") or ()}


def orders_matching(
    deliveries: Iterable[tuple[str, Payload]], tz: str = "UTC", **filters: str
) -> set[int]:
    """The ids of the live orders the order list's filters select."""
    store = Store.of(deliveries)
    types = store.customer_types()
    out = set()
    for order in store.shop.orders.values():
        if order["id"] in store.shop.deleted:
            continue
        if _matches(store, order, types, filters):
            out.add(order["id"])
    return out


def _matches(store: Store, order: Payload, types: dict[int, str], filters: dict[str, str]) -> bool:
    buyer = (order.get("customer") or {}).get("id")
    for name, wanted in filters.items():
        if name == "channel" and (order.get("source_name") or "").lower() != wanted.lower():
            return False
        if name == "customer_type" and types.get(order["id"]) != wanted:
            return False
        if name in ("product_type", "vendor"):
            kinds = {
                ((store.products.get(li.get("product_id") or 0) or {}).get(name) or "").lower()
                for li in order.get("line_items") or ()
            }
            if wanted.lower() not in kinds:
                return False
        if name == "customer_tag":
            customer = store.customers.get(buyer or 0)
            if customer is None or buyer in store.deleted_customers:
                return False
            tags = {t.strip().lower() for t in (customer.get("tags") or "").split(",")}
            if wanted.strip().lower() not in tags:
                return False
        if name == "financial_status" and order.get("financial_status") != wanted:
            return False
        if name == "processed_at_min":
            # An order without processed_at is outside every processed_at range.
            processed = order.get("processed_at")
            if processed is None or instant(processed) < instant(wanted):
                return False
    return True
