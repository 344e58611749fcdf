"""Versions of Shopify entities for the convergence property: payloads, deliveries, strategies.

Every version of an entity is stamped (updated minute u, triggered second t); the newest is the
largest stamp. Contents differ per stamp, children included, so a row shows which version won.
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
    deliveries = [
        d for e in found for d in [*e.versions.values(), *([e.delete] if e.delete else [])]
    ]
    # Shopify redelivers with the same webhook id when it saw no timely 2xx.
    repeated = [d for d in deliveries for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3])))]
    sequence = draw(st.permutations(repeated))
    splits = sorted(draw(st.lists(st.integers(0, len(sequence)), max_size=3)))
    return Scenario(found, sequence, splits, draw(st.sampled_from([1, 2, 5, 500])))
