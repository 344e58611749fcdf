"""The simulated shop: its entities, its clock, and what shoppers and staff do next.

Each action returns the (topic, payload) pairs Shopify sends for it, in the shapes of the API
version the traffic claims (devtools/shapes.py). Orders' money follows them: a sale transaction
when placed, refunds of some units (with refunded shipping and discrepancies now and then),
cancellations that refund the rest, fulfillments whose shipment status moves on, order edits,
and the inventory levels and item costs those change.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from devtools import money as m
from devtools.catalog import Catalog
from devtools.shapes import (
    FOREIGN,
    SHOP,
    Currency,
    Payload,
    Shape,
    cents_of,
    gid,
    local,
    money,
    money_set,
    new_hex,
)

Action = list[tuple[str, Payload]]
_TOTALS = (
    "total_price", "subtotal_price", "total_line_items_price", "current_total_price",
    "current_subtotal_price", "total_discounts", "current_total_discounts", "total_tax",
    "current_total_tax",
)  # fmt: skip


class Store(Catalog):
    """Catalog and carts (devtools/catalog.py) plus checkouts, orders and their money."""

    def __init__(
        self, rng: random.Random, start: datetime, shape: Shape, pace: float = 1.0
    ) -> None:
        super().__init__(rng, start, shape)
        self.pace = pace  # how many times slower than a busy shop time passes between actions
        self.checkouts: dict[str, Payload] = {}  # open checkouts, no order yet
        self.checkout_ids: dict[str, int] = {}  # token -> the id checkouts/delete names
        self.orders: dict[int, Payload] = {}  # paid, not yet fulfilled or cancelled
        self.fulfilled: dict[int, Payload] = {}
        self.cancelled: dict[int, Payload] = {}
        self.shipments: dict[int, Payload] = {}  # fulfillments not yet delivered
        self.currency: dict[int, Currency] = {}  # order id -> the buyer's currency
        self.sale: dict[int, int] = {}  # order id -> its sale transaction
        self.order_number = 1000

    def next_action(self) -> tuple[str, Action]:
        """The next merchant or shopper action and the X-Shopify-Triggered-At of its deliveries."""
        self.now += timedelta(seconds=self.rng.uniform(0.01, 0.12) * self.pace)
        if self.follow_up:
            action = self.follow_up.pop()()
        else:
            menu = [(weight, act) for weight, act, possible in self._menu() if possible]
            act = self.rng.choices([a for _, a in menu], weights=[w for w, _ in menu])[0]
            action = act()
        # Shopify triggers the delivery a moment after the change it reports.
        self.now += timedelta(seconds=self.rng.uniform(0.001, 0.4) * self.pace)
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z"), action

    def _menu(self) -> list[tuple[int, Callable[[], Action], bool]]:
        return [
            *self.catalog_menu(),
            (5, self.start_checkout, bool(self.carts and self.customers)),
            (3, self.update_checkout, bool(self.checkouts)),
            (3, self.place_order, bool(self.checkouts)),
            (1, self.delete_checkout, bool(self.checkouts)),
            (4, self.fulfil_order, bool(self.orders)),
            (3, self.ship, bool(self.shipments)),
            (3, self.refund_order, bool(self.orders or self.fulfilled)),
            (1, self.edit_order, bool(self.orders and self.products)),
            (2, self.cancel_order, bool(self.orders)),
            (1, self.delete_order, bool(self.cancelled)),
        ]

    def start_checkout(self) -> Action:
        cart = self.carts.pop(self.rng.choice(list(self.carts)))
        customer = self.customers[self.rng.choice(list(self.customers))]
        self.in_use.add(customer["id"])
        token, checkout_id, stamp = new_hex(self.rng), self.new_id(), self._stamp()
        sample = self.sample("checkouts_create")
        lines = [_checkout_line(sample["line_items"][0], line) for line in cart["line_items"]]
        subtotal = money(sum(cents_of(line["line_price"]) for line in lines))
        # Up to 2026-01 a checkout carries the numeric id checkouts/delete names; from 2026-04
        # it is known by its token alone (Shopify's sample has no id).
        chk = {"id": checkout_id, **sample} if self.shape.checkout_ids else sample
        chk.update(token=token, cart_token=cart["token"], email=customer["email"],
                   created_at=local(stamp), updated_at=local(stamp), name=f"#{checkout_id}",
                   abandoned_checkout_url=f"https://checkout.local/548380009/checkouts/{token}"
                   f"/recover?key={new_hex(self.rng)}", line_items=lines, tax_lines=[],
                   total_line_items_price=subtotal, subtotal_price=subtotal, total_price=subtotal,
                   total_tax="0.00", customer=_embedded(sample["customer"], customer))  # fmt: skip
        self.checkout_ids[token] = checkout_id
        self._keep(self.checkouts, token, chk)
        return [("checkouts/create", chk)]

    def update_checkout(self) -> Action:
        chk = copy.deepcopy(self.checkouts[self.rng.choice(list(self.checkouts))])
        chk.update(updated_at=local(self._stamp(chk)), buyer_accepts_marketing=True,
                   phone=f"+1613555{self.rng.randint(0, 9999):04d}")  # fmt: skip
        self.checkouts[chk["token"]] = chk
        return [("checkouts/update", chk)]

    def delete_checkout(self) -> Action:
        chk = self.checkouts.pop(self.rng.choice(list(self.checkouts)))
        body = self.sample("checkouts_delete")
        # Whatever the version, the deletion names the checkout by id and cart token.
        body.update(id=self.checkout_ids.pop(chk["token"]), cart_token=chk["cart_token"],
                    total_price=chk["total_price"], subtotal_price=chk["subtotal_price"],
                    total_line_items_price=chk["total_line_items_price"])  # fmt: skip
        return [("checkouts/delete", body)]

    def place_order(self) -> Action:
        chk = copy.deepcopy(self.checkouts.pop(self.rng.choice(list(self.checkouts))))
        checkout_id = self.checkout_ids.pop(chk["token"])
        oid, stamp = self.new_id(), self._stamp(chk)
        currency = self.rng.choice(FOREIGN) if self.rng.random() < 0.25 else SHOP
        self.order_number += 1
        o = self.sample("orders_create")
        if not self.shape.checkout_ids:
            o.pop("checkout_id", None)
        else:
            o["checkout_id"] = checkout_id
        lines = [self._order_line(o["line_items"][0], line, currency) for line in chk["line_items"]]
        o.update(id=oid, admin_graphql_api_id=gid("Order", oid), name=f"#{self.order_number}",
                 order_number=self.order_number, number=self.order_number - 1000,
                 token=new_hex(self.rng), cart_token=chk["cart_token"], checkout_token=chk["token"],
                 confirmed=True, created_at=local(stamp), processed_at=local(stamp),
                 updated_at=local(stamp), cancelled_at=None, cancel_reason=None,
                 financial_status="paid", fulfillment_status=None, email=chk["email"],
                 contact_email=chk["email"], test=False, line_items=lines,
                 customer=_embedded(o["customer"], chk["customer"]), refunds=[], fulfillments=[],
                 shipping_lines=self._shipping(o["shipping_lines"][0], currency),
                 discount_codes=[], discount_applications=[], tax_lines=[], returns=[],
                 line_item_groups=[], currency="USD", presentment_currency=currency.code,
                 total_outstanding="0.00")  # fmt: skip
        _price(o, currency)
        chk.update(completed_at=local(stamp), updated_at=local(stamp))
        self._keep(self.orders, oid, o)
        self.currency[oid] = currency
        paid = cents_of(o["total_price_set"]["presentment_money"]["amount"])
        sale = m.transaction(self.rng, o, kind="sale", presentment_cents=paid, currency=currency,
                             at=stamp)  # fmt: skip
        self.sale[oid] = sale["id"]
        stock = [self.stock_change(line["variant_id"], -line["quantity"]) for line in lines]
        # One checkout completion: Shopify sends these with one X-Shopify-Event-Id.
        return [("orders/create", o), ("orders/paid", o), ("order_transactions/create", sale),
                ("checkouts/update", chk), *[s for s in stock if s]]  # fmt: skip

    def _order_line(self, template: Payload, checkout_line: Payload, currency: Currency) -> Payload:
        lid, quantity, price = self.new_id(), checkout_line["quantity"], checkout_line["price"]
        line = copy.deepcopy(template)
        line.update(id=lid, admin_graphql_api_id=gid("LineItem", lid), attributed_staffs=[],
                    product_id=checkout_line["product_id"], variant_id=checkout_line["variant_id"],
                    sku=checkout_line["sku"], title=checkout_line["title"],
                    variant_title=checkout_line["variant_title"], vendor=checkout_line["vendor"],
                    name=f"{checkout_line['title']} - {checkout_line['variant_title']}",
                    price=price, price_set=money_set(cents_of(price), currency),
                    quantity=quantity, current_quantity=quantity, fulfillable_quantity=quantity,
                    product_exists=True)  # fmt: skip
        return line

    def _shipping(self, template: Payload, currency: Currency) -> list[Payload]:
        if self.rng.random() < 0.4:  # picked up, or shipped free
            return []
        cents = self.rng.choice((500, 899, 1250))
        line = copy.deepcopy(template)
        line.update(id=self.new_id(), title="Standard", code="Standard", price=money(cents),
                    price_set=money_set(cents, currency), discounted_price=money(cents),
                    discounted_price_set=money_set(cents, currency),
                    current_discounted_price_set=money_set(cents, currency))  # fmt: skip
        return [line]

    def fulfil_order(self) -> Action:
        o = copy.deepcopy(self.orders.pop(self.rng.choice(list(self.orders))))
        stamp = self._stamp(o)
        f = m.fulfillment(self.rng, o, location_id=self.location_id, at=stamp)
        o.update(updated_at=local(stamp), fulfillment_status="fulfilled",
                 fulfillments=[*o["fulfillments"], f])  # fmt: skip
        for line in o["line_items"]:
            line.update(fulfillable_quantity=0, fulfillment_status="fulfilled")
        self._keep(self.fulfilled, o["id"], o)
        self.shipments[f["id"]] = f
        return [("fulfillments/create", f), ("orders/fulfilled", o), ("orders/updated", o)]

    def ship(self) -> Action:
        """The carrier scans the parcel: fulfillments/update with its shipment status."""
        f = copy.deepcopy(self.shipments[self.rng.choice(list(self.shipments))])
        steps = (None, "in_transit", "out_for_delivery", "delivered")
        f.update(shipment_status=steps[steps.index(f["shipment_status"]) + 1],
                 updated_at=local(self._stamp(f)))  # fmt: skip
        self.shipments[f["id"]] = f
        if f["shipment_status"] == "delivered":
            del self.shipments[f["id"]]
        o = self.fulfilled.get(f["order_id"])
        if o is not None:  # the order's next version carries it
            o["fulfillments"] = [f if g["id"] == f["id"] else g for g in o["fulfillments"]]
        return [("fulfillments/update", f)]

    def refund_order(self) -> Action:
        pool = self.orders if self.orders and self.rng.random() < 0.4 else self.fulfilled
        due = [oid for oid, o in pool.items() if _units_left(o)] if pool else []
        if not due:
            return []
        o = copy.deepcopy(pool[self.rng.choice(due)])
        lines = [(line, line["current_quantity"]) for line in o["line_items"]]
        picked = self.rng.sample([lq for lq in lines if lq[1]], k=1)
        picked = [(line, self.rng.randint(1, units)) for line, units in picked]
        goods = sum(cents_of(line["price"]) * units for line, units in picked)
        shipped = o["fulfillments"] != []
        plan = m.RefundPlan(
            lines=picked,
            shipping=_unrefunded_shipping(o) if self.rng.random() < 0.3 else None,
            discrepancy=self.rng.choice((0, 0, 0, min(goods // 10, 500))),
            restock_type=self.rng.choice(("no_restock", "return")) if shipped else "cancel",
            location_id=self.location_id,
        )
        action = self._refund(o, plan)
        if not _units_left(o):
            del pool[o["id"]]
        else:
            pool[o["id"]] = o
        return action

    def _refund(self, o: Payload, plan: m.RefundPlan, *topics: str) -> Action:
        """Refund what the plan says; the order's next version (`topics`, else orders/updated)."""
        stamp = self._stamp(o)
        r = m.refund(self.rng, o, plan, currency=self.currency.get(o["id"], SHOP),
                     sale_id=self.sale.get(o["id"]), at=stamp)  # fmt: skip
        by_id = {line["id"]: line for line in o["line_items"]}
        for line, units in plan.lines:
            kept = by_id[line["id"]]
            kept["current_quantity"] -= units
            kept["fulfillable_quantity"] = 0 if o["fulfillments"] else kept["current_quantity"]
        whole = not _units_left(o) and _unrefunded_shipping(o, r) is None
        o.update(updated_at=local(stamp), refunds=[*o["refunds"], r],
                 financial_status="refunded" if whole else "partially_refunded")  # fmt: skip
        back = sum(m.refunded_cents(x) for x in o["refunds"])
        left = max(0, cents_of(o["total_price"]) - back)
        o["current_total_price"] = money(left)
        o["current_total_price_set"] = money_set(left, self.currency.get(o["id"], SHOP))
        stock = []
        if plan.restock_type != "no_restock":
            stock = [self.stock_change(line["variant_id"], units) for line, units in plan.lines]
        versions = [(topic, o) for topic in topics or ("orders/updated",)]
        return [("refunds/create", r), ("order_transactions/create", r["transactions"][0]),
                *versions, *[s for s in stock if s]]  # fmt: skip

    def edit_order(self) -> Action:
        """Staff add a unit of another product to a placed order; the buyer pays the balance."""
        untouched = [k for k, o in self.orders.items() if o["financial_status"] == "paid"]
        if not untouched:
            return []
        oid = self.rng.choice(untouched)
        o = copy.deepcopy(self.orders[oid])
        product = self.products[self.rng.choice(list(self.products))]
        v = self.rng.choice(product["variants"])
        currency, stamp = self.currency.get(oid, SHOP), self._stamp(o)
        line = copy.deepcopy(o["line_items"][0])
        lid = self.new_id()
        line.update(id=lid, admin_graphql_api_id=gid("LineItem", lid), product_id=product["id"],
                    variant_id=v["id"], sku=v["sku"], title=product["title"],
                    variant_title=v["title"], name=f"{product['title']} - {v['title']}",
                    price=v["price"], price_set=money_set(cents_of(v["price"]), currency),
                    quantity=1, current_quantity=1, fulfillable_quantity=1)  # fmt: skip
        self.in_use.add(product["id"])
        before = cents_of(o["total_price"])
        o["line_items"].append(line)
        _price(o, currency)
        o.update(updated_at=local(stamp), financial_status="partially_paid",
                 total_outstanding=money(cents_of(o["total_price"]) - before))  # fmt: skip
        self.orders[oid] = o
        self.follow_up.append(lambda: self._settle(oid))
        stock = self.stock_change(v["id"], -1)
        edit = m.order_edit(self.rng, oid, line, stamp)
        return [("orders/edited", edit), ("orders/updated", o), *([stock] if stock else [])]

    def _settle(self, oid: int) -> Action:
        o = self.orders.get(oid)
        if o is None or o["financial_status"] != "partially_paid":
            return []
        o = copy.deepcopy(o)
        stamp, currency = self._stamp(o), self.currency.get(oid, SHOP)
        due = currency.cents(cents_of(o["total_outstanding"]))
        sale = m.transaction(self.rng, o, kind="sale", presentment_cents=due, currency=currency,
                             at=stamp)  # fmt: skip
        o.update(updated_at=local(stamp), financial_status="paid", total_outstanding="0.00")
        self.orders[oid] = o
        return [("order_transactions/create", sale), ("orders/updated", o)]

    def cancel_order(self) -> Action:
        o = copy.deepcopy(self.orders.pop(self.rng.choice(list(self.orders))))
        lines = [(line, line["current_quantity"]) for line in o["line_items"]]
        plan = m.RefundPlan(
            lines=[(line, units) for line, units in lines if units],
            shipping=_unrefunded_shipping(o),
            restock_type="cancel",
            location_id=self.location_id,
        )
        if not plan.lines and plan.shipping is None:
            return []
        action = self._refund(o, plan, "orders/cancelled", "orders/updated")
        reason = self.rng.choice(("customer", "inventory", "declined", "other"))
        o.update(cancelled_at=o["updated_at"], cancel_reason=reason)
        for line in o["line_items"]:
            line.update(fulfillable_quantity=0)
        self._keep(self.cancelled, o["id"], o)
        return action

    def delete_order(self) -> Action:
        oid = self.rng.choice(list(self.cancelled))
        del self.cancelled[oid]
        return [("orders/delete", {"id": oid})]


def _price(o: Payload, currency: Currency) -> None:
    """An order's totals from its lines and shipping (no discounts or taxes here)."""
    goods = sum(cents_of(line["price"]) * line["quantity"] for line in o["line_items"])
    shipping = sum(cents_of(s["price"]) for s in o["shipping_lines"])
    for name in _TOTALS:
        cents = goods + shipping if name.endswith("total_price") else 0
        cents = goods if "subtotal" in name or "line_items" in name else cents
        o[name], o[f"{name}_set"] = money(cents), money_set(cents, currency)
    o["total_shipping_price_set"] = money_set(shipping, currency)


def _units_left(o: Payload) -> bool:
    return any(line["current_quantity"] > 0 for line in o["line_items"])


def _unrefunded_shipping(o: Payload, *more: Payload) -> Payload | None:
    done = {
        s["shipping_line_id"] for r in [*o["refunds"], *more] for s in r["refund_shipping_lines"]
    }
    return next((s for s in o["shipping_lines"] if s["id"] not in done), None)


def _checkout_line(template: Payload, cart_line: Payload) -> Payload:
    product_title, variant_title = cart_line["title"].rsplit(" - ", 1)
    line = copy.deepcopy(template)
    line.update(key=cart_line["key"].split(":")[1], product_id=cart_line["product_id"],
                variant_id=cart_line["variant_id"], sku=cart_line["sku"], title=product_title,
                presentment_title=product_title, variant_title=variant_title,
                presentment_variant_title=variant_title, vendor=cart_line["vendor"],
                quantity=cart_line["quantity"], price=cart_line["price"],
                variant_price=cart_line["price"], line_price=cart_line["line_price"],
                tax_lines=[])  # fmt: skip
    return line


def _embedded(template: Payload, customer: Payload) -> Payload:
    """The customer object an order or checkout carries, for one of our customers."""
    e: dict[str, Any] = copy.deepcopy(template)
    for name in ("id", "admin_graphql_api_id", "first_name", "last_name", "email"):
        e[name] = customer[name]
    name = f"{customer['first_name']} {customer['last_name']}"
    e["default_address"].update(customer_id=customer["id"], first_name=customer["first_name"],
                                last_name=customer["last_name"], name=name)  # fmt: skip
    return e
