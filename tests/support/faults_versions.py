"""Versions of Shopify entities for the convergence property: payloads, deliveries, strategies.

Every version of an entity is stamped (updated minute u, triggered second t); the newest is the
largest stamp. Contents differ per stamp, children included, so a row shows which version won.
An order's refunds and fulfillment come on their own topics and inside order versions too; each
copy is a version of its own, and the newest copy wins wherever it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from tests.support.samples import sample_json

BASE = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
# The same instant written with different offsets must still compare as the same instant.
ZONES: list[tzinfo] = [UTC, timezone(timedelta(hours=-4)), timezone(timedelta(hours=5, minutes=30))]
FIRST_ID = {"customers": 2**60 + 100, "products": 2**60 + 200, "orders": 2**60 + 300}
CHECKOUT_ID, CHECKOUT_TOKEN = 2**60 + 400, "chk-convergence"
FULFILLMENT_ID, REFUND_ID = 2**60 + 500, 2**60 + 600
SHIPMENT = [None, "in_transit", "out_for_delivery", "delivered"]
UPSERT_TOPICS = {
    "customers": ["customers/create", "customers/update"],
    "products": ["products/create", "products/update"],
    "orders": ["orders/create", "orders/updated", "orders/paid"],
    "checkouts": ["checkouts/create", "checkouts/update"],
}
STATUSES = ["pending", "authorized", "paid", "partially_refunded", "refunded"]


@dataclass(frozen=True)
class Delivery:
    topic: str
    payload: dict[str, Any] = field(repr=False)
    webhook_id: str
    triggered_at: str
    path: str


@dataclass(frozen=True)
class Entity:
    resource: str
    ident: int
    versions: dict[tuple[int, int], Delivery]  # (updated minute, triggered second) -> delivery
    deleted_at: datetime | None
    delete: Delivery | None

    @property
    def newest(self) -> Delivery:
        return self.versions[max(self.versions)]


def render(instant: datetime, zone: tzinfo) -> str:
    return instant.astimezone(zone).isoformat().replace("+00:00", "Z")


def child_id(parent: int, k: int) -> int:
    """Variant and line item ids, distinct per parent and beyond 2**53 too."""
    return 2**61 + (parent - 2**60) * 10 + k


def customer(ident: int, u: int, t: int, children: list[int]) -> dict[str, Any]:
    return sample_json("customers_create") | {
        "id": ident,
        "email": f"c{ident % 1000}-u{u}t{t}@example.com",
        "first_name": f"First {u}.{t}",
    }


def product(ident: int, u: int, t: int, children: list[int]) -> dict[str, Any]:
    sample = sample_json("products_create")
    variants = [
        copy.deepcopy(sample["variants"][0])
        | {"id": child_id(ident, k), "product_id": ident, "title": f"V{k} {u}.{t}"}
        | {"price": str(Decimal(10 + u) + Decimal(t) / 10 + Decimal(k) / 100)}
        for k in children
    ]
    return sample | {"id": ident, "title": f"Product {u}.{t}", "variants": variants}


def order(ident: int, u: int, t: int, children: list[int]) -> dict[str, Any]:
    sample = sample_json("orders_create")
    lines = [
        copy.deepcopy(sample["line_items"][0])
        | {"id": child_id(ident, k), "quantity": 1 + u + t, "price": f"{20 + k}.{u}{t}"}
        for k in children
    ]
    # The same embedded customer in every version: it may create the customer row first.
    embedded = sample["customer"] | {"id": FIRST_ID["customers"], "email": "embedded@example.com"}
    return sample | {
        "id": ident,
        "financial_status": STATUSES[(u + t) % len(STATUSES)],
        "total_price": f"{100 + u}.{t}5",
        "line_items": lines,
        "refunds": [],
        "customer": embedded,
        "checkout_token": CHECKOUT_TOKEN,
        "cart_token": None,
    }


def checkout(ident: int, u: int, t: int, children: list[int]) -> dict[str, Any]:
    return sample_json("checkouts_create") | {
        "id": CHECKOUT_ID,
        "token": CHECKOUT_TOKEN,
        "email": f"buyer-u{u}t{t}@example.com",
        "total_price": f"{50 + u}.{t}0",
    }


BUILDERS: dict[str, Callable[[int, int, int, list[int]], dict[str, Any]]] = {
    "customers": customer,
    "products": product,
    "orders": order,
    "checkouts": checkout,
}


@st.composite
def entities(draw: st.DrawFn, resource: str, index: int) -> Entity:
    """1-4 versions of one entity (some tied on updated_at), maybe a delete."""
    ident = FIRST_ID.get(resource, CHECKOUT_ID) + index
    stamps = draw(
        st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=4, unique=True
        )
    )
    path = draw(st.sampled_from(["/webhooks", f"/webhooks/{resource}"]))
    versions = {}
    for u, t in stamps:
        updated = BASE + timedelta(minutes=u)
        children = draw(st.lists(st.integers(0, 3), max_size=4, unique=True))
        payload = BUILDERS[resource](ident, u, t, children)
        payload["updated_at"] = render(updated, draw(st.sampled_from(ZONES)))
        versions[(u, t)] = Delivery(
            topic=draw(st.sampled_from(UPSERT_TOPICS[resource])),
            payload=payload,
            webhook_id=f"{resource}-{index}-u{u}-t{t}",
            triggered_at=render(updated + timedelta(seconds=t), draw(st.sampled_from(ZONES))),
            path=path,
        )
    deleted_at, delete = None, None
    if draw(st.booleans()):
        deleted_at = BASE + timedelta(minutes=draw(st.integers(0, 5)))
        delete = Delivery(
            topic=f"{resource}/delete",
            payload={"id": ident},
            webhook_id=f"{resource}-{index}-delete",
            triggered_at=render(deleted_at, draw(st.sampled_from(ZONES))),
            path=path,
        )
    return Entity(resource, ident, versions, deleted_at, delete)


def fulfillment(ident: int, u: int, t: int, children: list[int]) -> dict[str, Any]:
    order_id = FIRST_ID["orders"]
    return sample_json("2026-04/fulfillments_create") | {
        "id": ident,
        "order_id": order_id,
        "status": "success",
        "shipment_status": SHIPMENT[u],
        "tracking_numbers": [f"1Z{u}{t}"],
        "line_items": [{"id": child_id(order_id, k), "quantity": 1 + u + k} for k in children],
    }


def refund(ident: int, k: int) -> dict[str, Any]:
    """A refund of order line k, paid back in euros; refunds are never changed once made."""
    order_id = FIRST_ID["orders"]
    line, paid = child_id(order_id, k), f"{9 + k}.15"
    return sample_json("2026-04/refunds_create") | {
        "id": ident,
        "order_id": order_id,
        "refund_line_items": [
            {"id": ident + 1, "line_item_id": line, "quantity": 1, "subtotal": f"{10 + k}.00",
             "subtotal_set": {"shop_money": {"amount": f"{10 + k}.00"},
                              "presentment_money": {"amount": paid}}},
        ],
        "refund_shipping_lines": [],
        "order_adjustments": [],
        "transactions": [
            {"id": ident + 2, "order_id": order_id, "kind": "refund", "status": "success",
             "amount": paid, "currency": "EUR"},
        ],
    }  # fmt: skip


@st.composite
def fulfillments(draw: st.DrawFn) -> Entity:
    """Its creation and maybe an update: the order's fulfillment, its shipment status moving on."""
    path = draw(st.sampled_from(["/webhooks", "/webhooks/fulfillments"]))
    stamps = draw(
        st.lists(
            st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=2, unique=True
        )
    )
    versions = {}
    for u, t in stamps:
        updated = BASE + timedelta(minutes=u)
        payload = fulfillment(
            FULFILLMENT_ID, u, t, draw(st.lists(st.integers(0, 3), max_size=3, unique=True))
        )
        payload["updated_at"] = render(updated, draw(st.sampled_from(ZONES)))
        # A quarter second past any order version's trigger: no copy ties with another.
        triggered = updated + timedelta(seconds=t, milliseconds=250)
        versions[(u, t)] = Delivery(
            topic="fulfillments/create" if (u, t) == min(stamps) else "fulfillments/update",
            payload=payload,
            webhook_id=f"fulfillment-u{u}-t{t}",
            triggered_at=render(triggered, draw(st.sampled_from(ZONES))),
            path=path,
        )
    return Entity("fulfillments", FULFILLMENT_ID, versions, None, None)


@st.composite
def refunds(draw: st.DrawFn, index: int) -> Entity:
    """One refund: its refunds/create, made at minute u and second t (half a second past)."""
    u, t = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    path = draw(st.sampled_from(["/webhooks", "/webhooks/refunds"]))
    ident = REFUND_ID + 10 * index
    triggered = BASE + timedelta(minutes=u, seconds=t, milliseconds=500 + index)
    delivery = Delivery(
        topic="refunds/create",
        payload=refund(ident, index),
        webhook_id=f"refund-{index}",
        triggered_at=render(triggered, draw(st.sampled_from(ZONES))),
        path=path,
    )
    return Entity("refunds", ident, {(u, t): delivery}, None, None)


def embed(draw: st.DrawFn, order: Entity, money: list[Entity]) -> None:
    """Some order versions carry the refunds and the newest fulfillment version of their time."""
    made = [e for e in money if e.resource == "refunds"]
    shipped = [e for e in money if e.resource == "fulfillments"]
    for (u, _), d in order.versions.items():
        if not draw(st.booleans()):
            continue
        d.payload["refunds"] = [r.newest.payload for r in made]
        known = [k for e in shipped for k in e.versions if k[0] <= u]
        d.payload["fulfillments"] = [shipped[0].versions[max(known)].payload] if known else []


@dataclass(frozen=True)
class Copy:
    """One copy of a money entity: its version, the delivery that carried it, its content."""

    version: tuple[datetime, datetime]
    webhook_id: str
    payload: dict[str, Any]


def newest_copies(scenario: Scenario) -> dict[tuple[str, int], Copy]:
    """The winning copy of every refund and fulfillment, wherever it came from."""
    floor = datetime.min.replace(tzinfo=UTC)
    found: dict[tuple[str, int], list[Copy]] = {}

    def offer(resource: str, item: dict[str, Any], d: Delivery) -> None:
        updated = item.get("updated_at")
        version = (datetime.fromisoformat(updated) if updated else floor,
                   datetime.fromisoformat(d.triggered_at))  # fmt: skip
        found.setdefault((resource, item["id"]), []).append(Copy(version, d.webhook_id, item))

    for d in {d.webhook_id: d for d in scenario.sequence}.values():
        if d.topic in ("refunds/create", "fulfillments/create", "fulfillments/update"):
            offer(d.topic.split("/")[0], d.payload, d)
        if d.topic.startswith("orders/") and d.topic != "orders/delete":
            for name in ("refunds", "fulfillments"):
                for item in d.payload.get(name) or ():
                    offer(name, item, d)
    return {key: max(copies, key=lambda c: c.version) for key, copies in found.items()}


@dataclass(frozen=True)
class Scenario:
    entities: list[Entity]
    sequence: list[Delivery]
    splits: list[int]
    batch_size: int


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """Entities of every resource; their deliveries, some redelivered, in any order."""
    found = [
        draw(entities(resource, index))
        for resource, count in (("customers", 2), ("products", 2), ("orders", 1), ("checkouts", 1))
        for index in range(draw(st.integers(1, count)))
    ]
    money = [draw(refunds(i)) for i in range(draw(st.integers(0, 2)))]
    money += [draw(fulfillments())] if draw(st.booleans()) else []
    embed(draw, next(e for e in found if e.resource == "orders"), money)
    deliveries = [
        d for e in found for d in [*e.versions.values(), *([e.delete] if e.delete else [])]
    ]
    # Shopify redelivers with the same webhook id when it saw no timely 2xx; the money topics'
    # deliveries all come twice.
    repeated = [d for d in deliveries for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3])))]
    repeated += [d for e in money for d in e.versions.values() for _ in range(2)]
    sequence = draw(st.permutations(repeated))
    splits = sorted(draw(st.lists(st.integers(0, len(sequence)), max_size=3)))
    return Scenario(found + money, sequence, splits, draw(st.sampled_from([1, 2, 5, 500])))
