"""The sales report computed in plain Python from the payloads Shopify delivered.

A second, independent reading of docs/metrics.md, "Sales report": it takes the webhook payload
dicts (never the database, never cartwheel's code, only the standard library), so the
endpoint's SQL is checked against arithmetic done another way. Money is Decimal throughout and
each figure is rounded half up to the cent once, from its exact sum.

How the definitions are read where the text leaves room:

- A return's cost uses the unit cost in force when the order was placed (the cost the sale
  booked), whenever the refund is processed.
- "What its refunds returned", in a cancellation, is every refund of the order, each as that
  refund's own figures (goods net of discrepancy adjustments, shipping, taxes, duties, cost, net
  sales of costed lines), so an order sums to zero over all days.
- Refunded shipping from a `shipping_refund` adjustment is minus its `amount`, and its tax
  minus its `tax_amount`.
- `net_sales_with_cost_recorded` of a costed line on a return is minus its refund lines'
  subtotals (less their tax when prices include tax); discrepancy adjustments belong to no line
  and stay out of it.
- `currency` is the shop currency of the most recently placed order that counts; None without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

Payload = dict[str, Any]
ZERO = Decimal(0)
CENT = Decimal("0.01")
ORDER_TOPICS = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
    }
)
FIGURES = (
    "orders", "gross_sales", "discounts", "returns", "net_sales", "shipping", "taxes", "duties",
    "total_sales", "average_order_value", "cost_of_goods_sold", "net_sales_with_cost_recorded",
    "gross_profit",
)  # fmt: skip


def money(value: Decimal) -> str:
    """Two decimals, half up; zero is "0.00" whatever its sign."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return str(abs(rounded) if rounded == 0 else rounded)


def shop(obj: Payload | None, name: str) -> Decimal | None:
    """`name` in shop money: its `name_set` shop amount, else the plain field."""
    if not obj:
        return None
    bag = obj.get(f"{name}_set") or {}
    amount = (bag.get("shop_money") or {}).get("amount")
    if amount is None:
        amount = obj.get(name)
    return None if amount is None else Decimal(str(amount))


def amount_of(obj: Payload | None, name: str) -> Decimal:
    return shop(obj, name) or ZERO


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Figures:
    """The additive figures of a day (or of one event)."""

    orders: int = 0
    gross: Decimal = ZERO
    discounts: Decimal = ZERO
    returns: Decimal = ZERO
    shipping: Decimal = ZERO
    taxes: Decimal = ZERO
    duties: Decimal = ZERO
    cost: Decimal = ZERO
    costed_net: Decimal = ZERO

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __neg__(self) -> Figures:
        return Figures(*(-getattr(self, f.name) for f in fields(self)))

    def answer(self) -> dict[str, Any]:
        """The figures as the endpoint answers them."""
        net = self.gross + self.discounts + self.returns
        return {
            "orders": self.orders,
            "gross_sales": money(self.gross),
            "discounts": money(self.discounts),
            "returns": money(self.returns),
            "net_sales": money(net),
            "shipping": money(self.shipping),
            "taxes": money(self.taxes),
            "duties": money(self.duties),
            "total_sales": money(net + self.shipping + self.taxes + self.duties),
            "average_order_value": (
                money((self.gross + self.discounts) / self.orders) if self.orders else None
            ),
            "cost_of_goods_sold": money(self.cost),
            "net_sales_with_cost_recorded": money(self.costed_net),
            "gross_profit": money(self.costed_net - self.cost),
        }


@dataclass
class Shop:
    """What the deliveries leave known: the newest version of each order, every refund, the
    deleted orders, variants' inventory items and every cost each item has had."""

    orders: dict[int, Payload]
    refunds: dict[int, Payload]
    deleted: set[int]
    items: dict[int, int]  # variant id -> inventory item id
    costs: dict[int, list[tuple[datetime, Decimal | None]]]

    @classmethod
    def of(cls, deliveries: Iterable[tuple[str, Payload]]) -> Shop:
        orders: dict[int, Payload] = {}
        refunds: dict[int, Payload] = {}
        deleted: set[int] = set()
        products: dict[int, Payload] = {}
        costs: dict[int, list[tuple[datetime, Decimal | None]]] = {}
        for topic, payload in deliveries:
            if topic in ORDER_TOPICS:
                _keep_newest(orders, payload)
                for refund in payload.get("refunds") or ():
                    refunds[refund["id"]] = refund | {"order_id": payload["id"]}
            elif topic == "refunds/create":
                refunds[payload["id"]] = payload
            elif topic == "orders/delete":
                deleted.add(payload["id"])
            elif topic in ("products/create", "products/update"):
                _keep_newest(products, payload)
            elif topic in ("inventory_items/create", "inventory_items/update"):
                at = instant(payload.get("updated_at") or payload["created_at"])
                cost = payload.get("cost")
                history = costs.setdefault(payload["id"], [])
                history.append((at, None if cost is None else Decimal(str(cost))))
        items = {
            v["id"]: v["inventory_item_id"]
            for p in products.values()
            for v in p.get("variants") or ()
            if v.get("inventory_item_id")
        }
        for history in costs.values():
            history.sort(key=lambda entry: entry[0])
        return cls(orders, refunds, deleted, items, costs)

    def counted(self) -> list[Payload]:
        """Orders the report counts: neither test orders nor deleted ones."""
        return [
            o for o in self.orders.values() if not o.get("test") and o["id"] not in self.deleted
        ]

    def unit_cost(self, line: Payload, placed: datetime) -> Decimal | None:
        """The line's unit cost in force when its order was placed (the first one known for
        an older sale); None when no cost is recorded."""
        item = self.items.get(line.get("variant_id") or 0)
        history = self.costs.get(item or 0)
        if not history:
            return None
        in_force = [cost for at, cost in history if at <= placed]
        return in_force[-1] if in_force else history[0][1]

    def events(self) -> Iterator[tuple[datetime, Figures]]:
        """Each sale, return and cancellation of the counted orders, at its instant."""
        for order in self.counted():
            placed = placed_at(order)
            sale = self.sale(order, placed)
            yield placed, sale
            returned = Figures()
            refunds = [r for r in self.refunds.values() if r.get("order_id") == order["id"]]
            for refund in refunds:
                part = self.refund(order, refund, placed)
                returned += part
                yield instant(refund.get("processed_at") or refund["created_at"]), -part
            if order.get("cancelled_at"):
                whole = Figures(
                    returns=sale.gross + sale.discounts,
                    shipping=sale.shipping,
                    taxes=sale.taxes,
                    duties=sale.duties,
                    cost=sale.cost,
                    costed_net=sale.costed_net,
                )
                rest = whole + -returned
                yield instant(order["cancelled_at"]), -rest

    def sale(self, order: Payload, placed: datetime) -> Figures:
        included = bool(order.get("taxes_included"))
        figures = Figures(orders=1, taxes=amount_of(order, "total_tax"))
        figures.duties = amount_of(order, "original_total_duties")
        for line in order.get("line_items") or ():
            if line.get("gift_card"):
                continue
            gross = amount_of(line, "price") * line["quantity"]
            if included:
                gross -= _taxes(line)
            discount = sum((amount_of(a, "amount") for a in line["discount_allocations"]), ZERO)
            figures.gross += gross
            figures.discounts -= discount
            cost = self.unit_cost(line, placed)
            if cost is not None:
                figures.cost += cost * line["quantity"]
                figures.costed_net += gross - discount
        for s in order.get("shipping_lines") or ():
            charged = amount_of(s, "price") - sum(
                (amount_of(a, "amount") for a in s.get("discount_allocations") or ()), ZERO
            )
            figures.shipping += charged - (_taxes(s) if included else ZERO)
        return figures

    def refund(self, order: Payload, refund: Payload, placed: datetime) -> Figures:
        """What one refund returned, as positive amounts (the return is its negation)."""
        included = bool(order.get("taxes_included"))
        lines = {line["id"]: line for line in order.get("line_items") or ()}
        part = Figures()
        for item in refund.get("refund_line_items") or ():
            line = lines.get(item["line_item_id"]) or item.get("line_item") or {}
            if line.get("gift_card") or (item.get("line_item") or {}).get("gift_card"):
                continue
            tax = amount_of(item, "total_tax")
            goods = amount_of(item, "subtotal") - (tax if included else ZERO)
            part.returns += goods
            part.taxes += tax
            cost = self.unit_cost(line, placed)
            if cost is not None:
                part.cost += cost * item["quantity"]
                part.costed_net += goods
        adjustments = refund.get("order_adjustments") or ()
        shipping_lines = refund.get("refund_shipping_lines") or ()
        if shipping_lines:
            for s in shipping_lines:
                part.shipping += amount_of(s, "subtotal_amount")
                part.taxes += amount_of(s, "tax_amount")
        else:
            for a in adjustments:
                if a.get("kind") == "shipping_refund":
                    part.shipping -= amount_of(a, "amount")
                    part.taxes -= amount_of(a, "tax_amount")
        for a in adjustments:
            if a.get("kind") == "refund_discrepancy":
                part.returns -= amount_of(a, "amount")
                part.taxes -= amount_of(a, "tax_amount")
        part.duties = sum((amount_of(d, "amount") for d in refund.get("duties") or ()), ZERO)
        return part


def _keep_newest(versions: dict[int, Payload], payload: Payload) -> None:
    known = versions.get(payload["id"])
    if known is None or instant(payload["updated_at"]) > instant(known["updated_at"]):
        versions[payload["id"]] = payload


def _taxes(item: Payload) -> Decimal:
    return sum((amount_of(t, "price") for t in item.get("tax_lines") or ()), ZERO)


def placed_at(order: Payload) -> datetime:
    return instant(order.get("processed_at") or order["created_at"])


def sales_report(
    deliveries: Iterable[tuple[str, Payload]], start: date, end: date, tz: str
) -> dict[str, Any]:
    """The answer of GET /api/reports/sales?from=start&to=end&tz=tz for these deliveries."""
    shop_state = Shop.of(deliveries)
    zone = ZoneInfo(tz)
    days = {start + timedelta(days=n): Figures() for n in range((end - start).days + 1)}
    for at, figures in shop_state.events():
        day = at.astimezone(zone).date()
        if day in days:
            days[day] += figures
    totals = sum(days.values(), Figures())
    counted = sorted(shop_state.counted(), key=placed_at)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "tz": tz,
        "currency": counted[-1]["currency"] if counted else None,
        "totals": totals.answer(),
        "days": [{"date": day.isoformat()} | f.answer() for day, f in days.items()],
    }


def differences(expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Every figure of every day and of the totals that differs, one line each."""
    out = [
        f"{key}: expected {expected[key]!r}, got {got.get(key)!r}"
        for key in ("from", "to", "tz", "currency")
        if got.get(key) != expected[key]
    ]
    out += _figures("totals", expected["totals"], got.get("totals") or {})
    days = {d.get("date"): d for d in got.get("days") or ()}
    dates = [d.get("date") for d in got.get("days") or ()]
    wanted = [d["date"] for d in expected["days"]]
    if dates != wanted:
        out.append(f"days: expected {wanted[0]}..{wanted[-1]} ({len(wanted)}), got {dates}")
    for day in expected["days"]:
        out += _figures(day["date"], day, days.get(day["date"]) or {})
    return out


def _figures(where: str, expected: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = [
        f"{where} {name}: expected {expected[name]!r}, got {got.get(name, '<missing>')!r}"
        for name in FIGURES
        if got.get(name, "<missing>") != expected[name]
    ]
    extra = set(got) - set(FIGURES) - {"date"}
    if extra:
        out.append(f"{where}: unexpected fields {sorted(extra)}")
    return out
