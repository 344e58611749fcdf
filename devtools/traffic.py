"""Realistic Shopify webhook traffic for one shop: pure generation, no network, no database.

`traffic()` yields signed deliveries that follow shopper journeys (devtools/shop.py) built from
Shopify's own sample payloads (fresh ids and timestamps) in the shapes of the API version they
claim, with Shopify's delivery habits mixed in: the same delivery sent twice, deliveries held
back until after newer ones, header names in any case, and one event id shared by the topics of
one merchant action. `expected_state()` says what the tables must converge to once a given list
of deliveries has been ingested, from the deliveries alone.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from typing import Any

import resources as registry
from devtools.shapes import Payload, Shape, new_uuid
from devtools.shop import Store
from receiver.signature import sign

API_VERSION = "2026-07"
LATE = 0.08  # share of deliveries held back behind later ones (Shopify does not order them)
DUPLICATE = 0.07  # share of deliveries sent again later with the same webhook id
_FLOOR = datetime.min.replace(tzinfo=UTC)
_CASES: tuple[Callable[[str], str], ...] = (
    lambda s: s,
    str.lower,  # what HTTP/2 delivers
    lambda s: s[0] + s[1:].lower(),  # "X-shopify-topic", as Shopify's docs show
)
Version = tuple[datetime, datetime]


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
    seed: int,
    *,
    shop: str,
    secret: str,
    start: datetime | None = None,
    api_version: str = API_VERSION,
    pace: float = 1.0,
) -> Iterator[Delivery]:
    """An endless stream of signed deliveries in the shapes of `api_version` (a stable version
    name); everything but the timestamps follows the seed. A `pace` above 1 spreads the
    shop's actions further apart in time (history over days or months)."""
    rng = random.Random(seed)
    shape = Shape(api_version)
    store = Store(rng, start or datetime.now(UTC), shape, pace)
    held: list[tuple[int, int, Delivery]] = []
    sent = seq = 0
    while True:
        triggered, action = store.next_action()
        event_id = new_uuid(rng)
        for topic, payload in action:
            d = _delivery(rng, topic, payload, (shop, secret, shape.version), event_id, triggered)
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


# The mean time between two actions at pace 1, in seconds (devtools/shop.py), and the mean
# deliveries per action (follow-ups, several topics per action and duplicates).
SECONDS_PER_ACTION = (0.01 + 0.12) / 2 + (0.001 + 0.4) / 2
DELIVERIES_PER_ACTION = 1.75


def history(
    seed: int, *, shop: str, secret: str, days: float, count: int, now: datetime | None = None
) -> Iterator[Delivery]:
    """About `count` deliveries of a shop's last `days` days: the same journeys as `traffic`,
    spread from `days` ago up to `now`, and none triggered later."""
    end = now or datetime.now(UTC)
    actions = count / DELIVERIES_PER_ACTION
    pace = days * 86_400 / (actions * SECONDS_PER_ACTION)
    start = end - timedelta(days=days)
    stamp = end.isoformat(timespec="microseconds").replace("+00:00", "Z")
    deliveries = traffic(seed, shop=shop, secret=secret, start=start, pace=pace)
    return takewhile(lambda d: d.header("X-Shopify-Triggered-At") <= stamp, deliveries)


def _delivery(
    rng: random.Random,
    topic: str,
    payload: Payload,
    signer: tuple[str, str, str],  # shop, secret, API version
    event_id: str,
    triggered: str,
) -> Delivery:
    shop, secret, version = signer
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": new_uuid(rng),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": triggered,
        "X-Shopify-API-Version": version,
    }
    return _recased(rng, Delivery(topic, body, {"Content-Type": "application/json", **headers}))


def _recased(rng: random.Random, d: Delivery) -> Delivery:
    case = rng.choice(_CASES)
    headers = {(k if k == "Content-Type" else case(k)): v for k, v in d.headers.items()}
    return replace(d, headers=headers)


@dataclass
class EntityState:
    """What one entity's row must end as: its newest version, or a tombstone."""

    version: Version = (_FLOOR, _FLOOR)
    payload: Payload | None = None  # None: only deleted, or only named by another entity
    webhook_ids: set[str] = field(default_factory=set)  # deliveries carrying that version
    deleted: bool = False


@dataclass
class ExpectedState:
    """The tables' final state after ingesting some deliveries, in any order."""

    entities: dict[str, dict[Any, EntityState]]  # resource -> key -> state
    webhook_ids: set[str]  # one event-log row each
    completed_checkouts: set[str]  # tokens
    converted_carts: set[str]  # tokens
    refund_of: dict[int, int] = field(default_factory=dict)  # transaction -> its refund


def expected_state(deliveries: Iterable[Delivery]) -> ExpectedState:
    """Newest version per entity (embedded ones too), tombstones and links, computed from the
    deliveries alone."""
    out = ExpectedState({r: {} for r in registry.RESOURCES}, set(), set(), set())
    gone: tuple[set[Any], set[Any]] = (set(), set())  # checkout ids and cart tokens deleted
    cart_refs: set[str] = set()
    for d in deliveries:
        out.webhook_ids.add(d.webhook_id)
        found = registry.for_topic(d.topic)
        if found is None:
            continue
        body, resource = json.loads(d.body), found.name
        if d.topic == found.delete_topic:
            if resource == "checkouts":  # named by id and cart token; the row is keyed by token
                gone[0].add(body["id"])
                gone[1].add(body.get("cart_token"))
            else:
                out.entities[resource].setdefault(
                    _key(resource, body), EntityState()
                ).deleted = True
            continue
        triggered = _parse(d.header("X-Shopify-Triggered-At"))
        for name, key, updated, payload in _versions(resource, body, out.refund_of):
            _offer(out.entities[name], key, (_parse(updated), triggered), payload, d.webhook_id)
        if resource == "orders":
            out.completed_checkouts.add(body.get("checkout_token"))
        if resource in ("orders", "checkouts"):
            cart_refs.add(body.get("cart_token"))
    checkouts = out.entities["checkouts"]
    for token, e in checkouts.items():
        newest = e.payload or {}
        e.deleted = newest.get("id") in gone[0] or newest.get("cart_token") in gone[1]
        if newest.get("completed_at"):
            out.completed_checkouts.add(token)
    out.completed_checkouts &= set(checkouts)
    out.converted_carts = cart_refs & set(out.entities["carts"])
    return out


def _offer(
    entities: dict[Any, EntityState], key: Any, version: Version, payload: Any, webhook_id: str
) -> None:
    e = entities.setdefault(key, EntityState())
    if payload is None:  # an order's customer: the row exists before its own webhook
        return
    if e.payload is None or version > e.version:
        e.version, e.payload, e.webhook_ids = version, payload, {webhook_id}
    elif version == e.version:
        e.webhook_ids.add(webhook_id)


def _versions(
    resource: str, body: Payload, refund_of: dict[int, int]
) -> Iterator[tuple[str, Any, str | None, Payload | None]]:
    """(resource, key, updated_at, payload) of the body and of the entities inside it."""
    if resource == "order_edits":
        edit = body["order_edit"]
        yield resource, edit["id"], edit.get("committed_at") or edit.get("created_at"), body
        return
    yield resource, _key(resource, body), body.get("updated_at"), body
    if resource == "orders":
        if body.get("customer"):
            yield "customers", body["customer"]["id"], None, None
        for f in body.get("fulfillments") or ():
            yield "fulfillments", f["id"], f.get("updated_at"), f
    refunds = (
        body.get("refunds") or () if resource == "orders" else [body] * (resource == "refunds")
    )
    for r in refunds:
        if r is not body:
            yield "refunds", r["id"], r.get("updated_at"), r
        for t in r.get("transactions") or ():
            refund_of[t["id"]] = r["id"]
            yield "order_transactions", t["id"], t.get("updated_at"), t


def _key(resource: str, body: Payload) -> Any:
    if resource in ("carts", "checkouts"):
        return body["token"]
    if resource == "inventory_levels":
        return (body["inventory_item_id"], body["location_id"])
    return body["id"]


def _parse(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else _FLOOR
