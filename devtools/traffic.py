"""Realistic Shopify webhook traffic for one shop: pure generation, no network, no database.

`traffic()` yields signed deliveries that follow shopper journeys built from Shopify's own sample
payloads (fresh ids and timestamps), with Shopify's delivery habits mixed in: the same delivery
sent twice, deliveries held back until after newer ones, header names in any case, and one event
id shared by the topics of one merchant action. `expected_state()` says what the tables must
converge to once a given list of deliveries has been ingested. They live in one module on
purpose: the journeys and the account of what they must produce change together.
"""

from __future__ import annotations

import copy
import heapq
import json
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any

import resources as registry
from core.topics import is_delete
from receiver.signature import sign

API_VERSION = "2026-07"
LATE = 0.08  # share of deliveries held back behind later ones (Shopify does not order them)
DUPLICATE = 0.07  # share of deliveries sent again later with the same webhook id
POOL = 200  # live entities kept per kind; older ones stop changing, so memory stays bounded
_SHOP_TZ = timezone(timedelta(hours=-5))  # the samples' shop is in Ottawa
_FLOOR = datetime.min.replace(tzinfo=UTC)
_FIRST = ("Ava", "Noah", "Zoë", "Liam", "Maya", "Ethan", "Chloé", "Omar", "Priya", "Jonas")
_LAST = ("Martin", "Nguyen", "Müller", "Smith", "Tremblay", "García", "Okafor", "Singh", "Roy")
_ADJECTIVES = ("Classic", "Organic", "Vintage", "Everyday", "Alpine", "Coastal", "Linen")
_NOUNS = ("T-Shirt", "Hoodie", "Tote", "Mug", "Beanie", "Notebook", "Candle", "Sneaker")
_SIZES = ("Small", "Medium", "Large")
_CASES: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    str.lower,  # what HTTP/2 delivers
    lambda s: s[0] + s[1:].lower(),  # "X-shopify-topic", as Shopify's docs show
)

Payload = dict[str, Any]
Action = list[tuple[str, Payload]]


@dataclass(frozen=True)
class Delivery:
    """One webhook POST: topic, exact body bytes and Shopify's (signed) headers."""

    topic: str
    body: bytes
    headers: dict[str, str]
    kind: str = "first"  # "first", "late" (held back behind newer ones) or "duplicate"

    def header(self, name: str) -> str:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")

    @property
    def webhook_id(self) -> str:
        return self.header("X-Shopify-Webhook-Id")


def traffic(
    seed: int, *, shop: str, secret: str, start: datetime | None = None
) -> Iterator[Delivery]:
    """An endless stream of signed deliveries; everything but the timestamps follows the seed."""
    rng = random.Random(seed)
    store = _Store(rng, start or datetime.now(UTC))
    held: list[tuple[int, int, Delivery]] = []
    sent = seq = 0
    while True:
        triggered, action = store.next_action()
        event_id = _uuid(rng)
        for topic, payload in action:
            d = _delivery(rng, topic, payload, shop, secret, event_id, triggered)
            due = sent
            if rng.random() < LATE:
                due, d = sent + rng.randint(2, 12), replace(d, kind="late")
            heapq.heappush(held, (due, seq := seq + 1, d))
            if rng.random() < DUPLICATE:
                again = _recased(rng, replace(d, kind="duplicate"))
                heapq.heappush(held, (sent + rng.randint(1, 30), seq := seq + 1, again))
        while held and held[0][0] <= sent:
            yield heapq.heappop(held)[2]
            sent += 1


def _delivery(
    rng: random.Random,
    topic: str,
    payload: Payload,
    shop: str,
    secret: str,
    event_id: str,
    triggered: str,
) -> Delivery:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": _uuid(rng),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered,
        "X-Shopify-API-Version": API_VERSION,
    }
    return _recased(rng, Delivery(topic, body, {"Content-Type": "application/json", **headers}))


def _recased(rng: random.Random, d: Delivery) -> Delivery:
    case = rng.choice(_CASES)
    headers = {(k if k == "Content-Type" else case(k)): v for k, v in d.headers.items()}
    return replace(d, headers=headers)


class _Store:
    """The simulated shop: its entities, its clock and what shoppers and staff do next."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng, self.now = rng, start.astimezone(UTC)
        self.customers: dict[int, Payload] = {}
        self.products: dict[int, Payload] = {}
        self.carts: dict[str, Payload] = {}  # open carts, no checkout yet
        self.checkouts: dict[str, Payload] = {}  # open checkouts, no order yet
        self.orders: dict[int, Payload] = {}  # paid, not yet fulfilled or cancelled
        self.cancelled: dict[int, Payload] = {}
        self.in_use: set[int] = set()  # customers who checked out, products in carts: kept
        self.order_number = 1000
        self.follow_up: list[Callable[[], Action]] = []

    def next_action(self) -> tuple[str, Action]:
        """The next merchant or shopper action and the X-Shopify-Triggered-At of its deliveries."""
        self.now += timedelta(seconds=self.rng.uniform(0.01, 0.12))
        if self.follow_up:
            action = self.follow_up.pop()()
        else:
            menu = [(weight, act) for weight, act, possible in self._menu() if possible]
            act = self.rng.choices([a for _, a in menu], weights=[w for w, _ in menu])[0]
            action = act()
        # Shopify triggers the delivery a moment after the change it reports.
        self.now += timedelta(seconds=self.rng.uniform(0.001, 0.4))
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z"), action

    def _menu(self) -> list[tuple[int, Callable[[], Action], bool]]:
        return [
            (8, self.new_customer, True),
            (5, self.update_customer, bool(self.customers)),
            (1, self.delete_customer, bool(self._unused(self.customers))),
            (5, self.new_product, True),
            (4, self.update_product, bool(self.products)),
            (1, self.delete_product, bool(self._unused(self.products))),
            (12, self.new_cart, bool(self.products)),
            (7, self.update_cart, bool(self.carts)),
            (5, self.start_checkout, bool(self.carts and self.customers)),
            (3, self.update_checkout, bool(self.checkouts)),
            (3, self.place_order, bool(self.checkouts)),
            (1, self.delete_checkout, bool(self.checkouts)),
            (4, self.fulfil_order, bool(self.orders)),
            (2, self.cancel_order, bool(self.orders)),
            (1, self.delete_order, bool(self.cancelled)),
        ]

    def _id(self) -> int:
        """A fresh 64-bit Shopify id, most past 2^53 where JavaScript numbers lose digits."""
        if self.rng.random() < 0.7:
            return self.rng.randint(2**53 + 1, 2**63 - 1)
        return self.rng.randint(10**9, 2**53 - 1)

    def _stamp(self, previous: Payload | None = None) -> datetime:
        """A new version's updated_at: now, and always a whole second past the previous one."""
        stamp = self.now.replace(microsecond=0)
        if previous and previous.get("updated_at"):
            after = datetime.fromisoformat(previous["updated_at"]) + timedelta(seconds=1)
            stamp = max(stamp, after)
        self.now = max(self.now, stamp)
        return stamp

    def _keep(self, pool: dict[Any, Payload], key: Any, payload: Payload) -> None:
        pool[key] = payload
        if len(pool) > POOL:
            del pool[next(iter(pool))]

    def _unused(self, pool: dict[int, Payload]) -> list[int]:
        return [key for key in pool if key not in self.in_use]

    def new_customer(self) -> Action:
        cid, stamp = self._id(), self._stamp()
        first, last = self.rng.choice(_FIRST), self.rng.choice(_LAST)
        c = _sample("customers_create")
        c.update(id=cid, admin_graphql_api_id=_gid("Customer", cid), first_name=first,
                 last_name=last, email=f"{_ascii(first)}.{_ascii(last)}.{cid % 9973}@example.com",
                 note=None, created_at=_local(stamp), updated_at=_local(stamp))  # fmt: skip
        c["default_address"].update(
            id=self._id(), customer_id=cid, first_name=first, last_name=last, name=f"{first} {last}"
        )
        self._keep(self.customers, cid, c)
        if self.rng.random() < 0.3:  # accepting marketing at sign-up updates the customer at once
            self.follow_up.append(lambda: self.update_customer(cid))
        return [("customers/create", c)]

    def update_customer(self, cid: int | None = None) -> Action:
        cid = self.rng.choice(list(self.customers)) if cid is None else cid
        if cid not in self.customers:
            return []
        c = copy.deepcopy(self.customers[cid])
        c.update(updated_at=_local(self._stamp(c)), state="enabled",
                 phone=f"+1613555{self.rng.randint(0, 9999):04d}",
                 note=self.rng.choice((None, "VIP", "Prefers email", "Wholesale")))  # fmt: skip
        self.customers[cid] = c
        return [("customers/update", c)]

    def delete_customer(self) -> Action:
        cid = self.rng.choice(self._unused(self.customers))
        del self.customers[cid]
        body = {"id": cid, "tax_exemptions": [], "admin_graphql_api_id": _gid("Customer", cid)}
        return [("customers/delete", body)]

    def new_product(self) -> Action:
        pid, stamp = self._id(), self._stamp()
        title = f"{self.rng.choice(_ADJECTIVES)} {self.rng.choice(_NOUNS)}"
        handle = f"{title.lower().replace(' ', '-')}-{pid % 9973}"
        p = _sample("products_create")
        cents = self.rng.randint(5, 120) * 100 - 1
        variants = []
        for position, size in enumerate(_SIZES[: self.rng.randint(1, 3)], 1):
            vid, quantity = self._id(), self.rng.randint(0, 200)
            v = copy.deepcopy(p["variants"][0])
            v.update(admin_graphql_api_id=_gid("ProductVariant", vid), id=vid, product_id=pid,
                     position=position, title=size, option1=size, price=_money(cents),
                     compare_at_price=_money(cents + 500), sku=f"{handle}-{size[0]}".upper(),
                     inventory_quantity=quantity, old_inventory_quantity=quantity,
                     created_at=_local(stamp), updated_at=_local(stamp))  # fmt: skip
            variants.append(v)
        p.update(id=pid, admin_graphql_api_id=_gid("Product", pid), title=title, handle=handle,
                 body_html=f"<p>{title}</p>", product_type=title.split()[-1], vendor="Cartwheel Co",
                 created_at=_local(stamp), published_at=_local(stamp), updated_at=_local(stamp),
                 variants=variants, variant_gids=[
                     {"admin_graphql_api_id": v["admin_graphql_api_id"], "updated_at": _zulu(stamp)}
                     for v in variants])  # fmt: skip
        self._keep(self.products, pid, p)
        return [("products/create", p)]

    def update_product(self) -> Action:
        p = copy.deepcopy(self.products[self.rng.choice(list(self.products))])
        stamp = self._stamp(p)
        v = self.rng.choice(p["variants"])
        if self.rng.random() < 0.5:
            v["price"] = _money(max(99, _cents(v["price"]) + self.rng.choice((-300, -100, 200))))
        else:
            v["old_inventory_quantity"] = v["inventory_quantity"]
            v["inventory_quantity"] = max(0, v["inventory_quantity"] - self.rng.randint(1, 5))
        v["updated_at"] = p["updated_at"] = _local(stamp)
        for g in p["variant_gids"]:
            if g["admin_graphql_api_id"] == v["admin_graphql_api_id"]:
                g["updated_at"] = _zulu(stamp)
        self.products[p["id"]] = p
        return [("products/update", p)]

    def delete_product(self) -> Action:
        pid = self.rng.choice(self._unused(self.products))
        del self.products[pid]
        return [("products/delete", {"id": pid})]

    def new_cart(self) -> Action:
        token, stamp = _hex(self.rng), self._stamp()
        cart = _sample("carts_create")
        size = min(len(self.products), self.rng.randint(1, 3))
        picked = self.rng.sample(list(self.products), k=size)
        lines = [self._cart_line(cart["line_items"][0], self.products[pid]) for pid in picked]
        cart.update(id=token, token=token, line_items=lines, created_at=_zulu(stamp),
                    updated_at=_zulu(stamp))  # fmt: skip
        self._keep(self.carts, token, cart)
        return [("carts/create", cart)]

    def _cart_line(self, template: Payload, product: Payload) -> Payload:
        v = self.rng.choice(product["variants"])
        line = copy.deepcopy(template)
        line.update(id=v["id"], variant_id=v["id"], product_id=product["id"],
                    key=f"{v['id']}:{_hex(self.rng)}", price=v["price"], original_price=v["price"],
                    discounted_price=v["price"], price_set=_money_set(v["price"]),
                    discounted_price_set=_money_set(v["price"]), sku=v["sku"],
                    vendor=product["vendor"],
                    title=f"{product['title']} - {v['title']}", total_discount="0.00",
                    total_discount_set=_money_set("0.00"))  # fmt: skip
        _set_quantity(line, self.rng.randint(1, 3))
        self.in_use.add(product["id"])
        return line

    def update_cart(self) -> Action:
        cart = copy.deepcopy(self.carts[self.rng.choice(list(self.carts))])
        cart["updated_at"] = _zulu(self._stamp(cart))
        _set_quantity(self.rng.choice(cart["line_items"]), self.rng.randint(1, 4))
        self.carts[cart["token"]] = cart
        return [("carts/update", cart)]

    def start_checkout(self) -> Action:
        cart = self.carts.pop(self.rng.choice(list(self.carts)))
        customer = self.customers[self.rng.choice(list(self.customers))]
        self.in_use.add(customer["id"])
        token, checkout_id, stamp = _hex(self.rng), self._id(), self._stamp()
        sample = _sample("checkouts_create")
        lines = [_checkout_line(sample["line_items"][0], line) for line in cart["line_items"]]
        subtotal = _money(sum(_cents(line["line_price"]) for line in lines))
        # Live checkout payloads carry the numeric id that checkouts/delete names (the sample not).
        chk = {"id": checkout_id, **sample}
        chk.update(token=token, cart_token=cart["token"], email=customer["email"],
                   created_at=_local(stamp), updated_at=_local(stamp), name=f"#{checkout_id}",
                   abandoned_checkout_url=f"https://checkout.local/548380009/checkouts/{token}"
                   f"/recover?key={_hex(self.rng)}", line_items=lines, tax_lines=[],
                   total_line_items_price=subtotal, subtotal_price=subtotal, total_price=subtotal,
                   total_tax="0.00", customer=_embedded(sample["customer"], customer))  # fmt: skip
        self._keep(self.checkouts, token, chk)
        return [("checkouts/create", chk)]

    def update_checkout(self) -> Action:
        chk = copy.deepcopy(self.checkouts[self.rng.choice(list(self.checkouts))])
        chk.update(updated_at=_local(self._stamp(chk)), buyer_accepts_marketing=True,
                   phone=f"+1613555{self.rng.randint(0, 9999):04d}")  # fmt: skip
        self.checkouts[chk["token"]] = chk
        return [("checkouts/update", chk)]

    def delete_checkout(self) -> Action:
        chk = self.checkouts.pop(self.rng.choice(list(self.checkouts)))
        body = _sample("checkouts_delete")
        body.update(id=chk["id"], cart_token=chk["cart_token"], total_price=chk["total_price"],
                    subtotal_price=chk["subtotal_price"],
                    total_line_items_price=chk["total_line_items_price"])  # fmt: skip
        return [("checkouts/delete", body)]

    def place_order(self) -> Action:
        chk = copy.deepcopy(self.checkouts.pop(self.rng.choice(list(self.checkouts))))
        oid, stamp = self._id(), self._stamp(chk)
        self.order_number += 1
        o = _sample("orders_create")
        lines = [self._order_line(o["line_items"][0], line) for line in chk["line_items"]]
        o.update(id=oid, admin_graphql_api_id=_gid("Order", oid), name=f"#{self.order_number}",
                 order_number=self.order_number, number=self.order_number - 1000,
                 token=_hex(self.rng), cart_token=chk["cart_token"], checkout_token=chk["token"],
                 checkout_id=chk["id"], confirmed=True, created_at=_local(stamp),
                 processed_at=_local(stamp), updated_at=_local(stamp), cancelled_at=None,
                 cancel_reason=None, financial_status="paid", fulfillment_status=None,
                 email=chk["email"], contact_email=chk["email"], test=False, line_items=lines,
                 customer=_embedded(o["customer"], chk["customer"]), refunds=[], fulfillments=[],
                 shipping_lines=[], discount_codes=[], discount_applications=[], tax_lines=[],
                 returns=[], line_item_groups=[])  # fmt: skip
        for name in ("total_price", "subtotal_price", "total_line_items_price",
                     "current_total_price", "current_subtotal_price", "total_discounts",
                     "current_total_discounts", "total_tax", "current_total_tax"):  # fmt: skip
            amount = chk["subtotal_price"] if "price" in name else "0.00"
            o[name], o[f"{name}_set"] = amount, _money_set(amount)
        o["total_outstanding"] = "0.00"
        chk.update(completed_at=_local(stamp), updated_at=_local(stamp))
        self._keep(self.orders, oid, o)
        # One checkout completion: Shopify sends these three with one X-Shopify-Event-Id.
        return [("orders/create", o), ("orders/paid", o), ("checkouts/update", chk)]

    def _order_line(self, template: Payload, checkout_line: Payload) -> Payload:
        lid, quantity, price = self._id(), checkout_line["quantity"], checkout_line["price"]
        line = copy.deepcopy(template)
        line.update(id=lid, admin_graphql_api_id=_gid("LineItem", lid), attributed_staffs=[],
                    product_id=checkout_line["product_id"], variant_id=checkout_line["variant_id"],
                    sku=checkout_line["sku"], title=checkout_line["title"],
                    variant_title=checkout_line["variant_title"], vendor=checkout_line["vendor"],
                    name=f"{checkout_line['title']} - {checkout_line['variant_title']}",
                    price=price, price_set=_money_set(price), quantity=quantity,
                    current_quantity=quantity, fulfillable_quantity=quantity,
                    product_exists=True)  # fmt: skip
        return line

    def fulfil_order(self) -> Action:
        o = copy.deepcopy(self.orders.pop(self.rng.choice(list(self.orders))))
        o.update(updated_at=_local(self._stamp(o)), fulfillment_status="fulfilled")
        for line in o["line_items"]:
            line.update(fulfillable_quantity=0, fulfillment_status="fulfilled")
        return [("orders/fulfilled", o), ("orders/updated", o)]

    def cancel_order(self) -> Action:
        o = copy.deepcopy(self.orders.pop(self.rng.choice(list(self.orders))))
        stamp = _local(self._stamp(o))
        paid_back = {"id": self._id(), "kind": "refund", "status": "success",
                     "amount": o["total_price"], "currency": o["currency"]}  # fmt: skip
        refund = {"id": self._id(), "order_id": o["id"], "created_at": stamp, "restock": True,
                  "transactions": [paid_back]}  # fmt: skip
        o.update(updated_at=stamp, cancelled_at=stamp, financial_status="refunded",
                 cancel_reason=self.rng.choice(("customer", "inventory", "declined", "other")),
                 current_total_price="0.00", refunds=[refund])  # fmt: skip
        for line in o["line_items"]:
            line.update(current_quantity=0, fulfillable_quantity=0)
        self._keep(self.cancelled, o["id"], o)
        return [("orders/cancelled", o), ("orders/updated", o)]

    def delete_order(self) -> Action:
        oid = self.rng.choice(list(self.cancelled))
        del self.cancelled[oid]
        return [("orders/delete", {"id": oid})]


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
    e = copy.deepcopy(template)
    for name in ("id", "admin_graphql_api_id", "first_name", "last_name", "email"):
        e[name] = customer[name]
    name = f"{customer['first_name']} {customer['last_name']}"
    e["default_address"].update(customer_id=customer["id"], first_name=customer["first_name"],
                                last_name=customer["last_name"], name=name)  # fmt: skip
    return e


def _set_quantity(line: Payload, quantity: int) -> None:
    total = _money(_cents(line["price"]) * quantity)
    line.update(quantity=quantity, line_price=total, original_line_price=total,
                line_price_set=_money_set(total),
                original_line_price_set=_money_set(total))  # fmt: skip


@cache
def _sample_text(name: str) -> str:
    return (resources.files("devtools") / "samples" / f"{name}.json").read_text(encoding="utf-8")


def _sample(name: str) -> Payload:
    """A fresh copy of one of Shopify's sample payloads (kept in devtools/samples)."""
    payload: Payload = json.loads(_sample_text(name))
    return payload


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def _gid(kind: str, id_: int) -> str:
    return f"gid://shopify/{kind}/{id_}"


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _local(t: datetime) -> str:
    return t.astimezone(_SHOP_TZ).isoformat(timespec="seconds")


def _zulu(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cents(amount: str) -> int:
    units, _, fraction = amount.partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _money_set(amount: str) -> Payload:
    money = {"amount": amount, "currency_code": "USD"}
    return {"shop_money": money, "presentment_money": dict(money)}


@dataclass
class EntityState:
    """What one entity's row must end as: its newest version, or a tombstone."""

    version: tuple[datetime, datetime] = (_FLOOR, _FLOOR)
    payload: Payload | None = None  # None: only deleted, or only named by an order
    webhook_ids: set[str] = field(default_factory=set)  # deliveries carrying that version
    deleted: bool = False


@dataclass
class ExpectedState:
    """The tables' final state after ingesting some deliveries, in any order."""

    entities: dict[str, dict[Any, EntityState]]  # resource -> Shopify id (token) -> state
    webhook_ids: set[str]  # one event-log row each
    completed_checkouts: set[str]  # tokens
    converted_carts: set[str]  # tokens


def expected_state(deliveries: Iterable[Delivery]) -> ExpectedState:
    """Newest version per entity, tombstones and links, computed from the deliveries alone."""
    out = ExpectedState({r: {} for r in registry.RESOURCES}, set(), set(), set())
    deleted_checkout_ids: set[int] = set()
    cart_refs: set[str] = set()
    for d in deliveries:
        out.webhook_ids.add(d.webhook_id)
        found = registry.for_topic(d.topic)
        resource = found.name if found else None
        if resource is None:
            continue
        body = json.loads(d.body)
        entities = out.entities[resource]
        if is_delete(d.topic):
            if resource == "checkouts":  # named by id; the row is keyed by token
                deleted_checkout_ids.add(body["id"])
            else:
                entities.setdefault(body["id"], EntityState()).deleted = True
            continue
        key = body["token"] if resource in ("carts", "checkouts") else body["id"]
        version = (_parse(body.get("updated_at")), _parse(d.header("X-Shopify-Triggered-At")))
        e = entities.setdefault(key, EntityState())
        if e.payload is None or version > e.version:
            e.version, e.payload, e.webhook_ids = version, body, {d.webhook_id}
        elif version == e.version:
            e.webhook_ids.add(d.webhook_id)
        if resource == "orders":
            if body.get("customer"):  # an order's customer exists before its own webhook
                out.entities["customers"].setdefault(body["customer"]["id"], EntityState())
            out.completed_checkouts.add(body.get("checkout_token"))
        if resource in ("orders", "checkouts"):
            cart_refs.add(body.get("cart_token"))
    checkouts = out.entities["checkouts"]
    for token, e in checkouts.items():
        newest = e.payload or {}
        e.deleted = newest.get("id") in deleted_checkout_ids
        if newest.get("completed_at"):
            out.completed_checkouts.add(token)
    out.completed_checkouts &= set(checkouts)
    out.converted_carts = cart_refs & set(out.entities["carts"])
    return out


def _parse(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else _FLOOR
