"""Realistic signed deliveries built from Shopify's own sample payloads, with fresh ids."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from core.wire import Envelope
from receiver.signature import sign
from resources.orders import OrderPayload

SAMPLES = Path(__file__).resolve().parents[1] / "devtools" / "samples"
API_VERSION = "2026-01"
# Shopify ids exceed 2**53; keep them there so exactness is exercised too.
ID_BASE = 7_000_000_000_000_000_000
TARGET_BODY_BYTES = 3_900

# The mix a busy shop sends: orders dominate, then checkouts, then customers.
MIX = (
    ("orders/create", "orders"), ("orders/updated", "orders"), ("orders/paid", "orders"),
    ("orders/create", "orders"), ("checkouts/create", "checkouts"),
    ("checkouts/update", "checkouts"), ("checkouts/create", "checkouts"),
    ("customers/create", "customers"), ("customers/update", "customers"),
    ("customers/create", "customers"),
)  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """One webhook as Shopify would POST it."""

    topic: str
    webhook_id: str
    body: bytes

    def headers(self, shop: str, secret: str) -> dict[str, str]:
        """Shopify's delivery headers for this body, signed with `secret`."""
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign(secret, self.body),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": _iso(datetime.now(UTC)),
            "X-Shopify-API-Version": API_VERSION,
        }

    def envelope(self, tenant_id: str) -> Envelope:
        """The stream entry the receiver would have written for it."""
        now = datetime.now(UTC)
        return Envelope(
            tenant_id=tenant_id,
            topic=self.topic,
            webhook_id=self.webhook_id,
            event_id=str(uuid.uuid4()),
            triggered_at=_iso(now),
            api_version=API_VERSION,
            received_at=now.isoformat(),
            body=self.body,
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@cache
def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / f"{name}.json").read_text())


@cache
def trimmed_order() -> dict[str, Any]:
    """orders/create cut to ~3.9 KB: every typed field kept, bulky extras dropped."""
    order = copy.deepcopy(sample("orders_create"))
    for key in [k for k in order if k.endswith("_set")] + ["shipping_lines"]:
        order.pop(key, None)
    order["line_items"] = order["line_items"][:2]
    keep = set(OrderPayload().fields)
    while len(json.dumps(order).encode()) > TARGET_BODY_BYTES:
        over = len(json.dumps(order).encode()) - TARGET_BODY_BYTES
        sizes = {k: len(json.dumps({k: v})) for k, v in order.items() if k not in keep}
        enough = [k for k, size in sizes.items() if size >= over]
        order.pop(
            min(enough, key=sizes.__getitem__) if enough else max(sizes, key=sizes.__getitem__)
        )
    return order


def receiver_body() -> bytes:
    """The one ~3.9 KB orders/create body both servers receive in the throughput test."""
    return order_body(1, trimmed=True)


def order_body(n: int, *, trimmed: bool = False) -> bytes:
    order = copy.deepcopy(trimmed_order() if trimmed else sample("orders_create"))
    oid = ID_BASE + n
    moment = _stamp(n)
    order.update(
        id=oid, name=f"#B{n}", order_number=n, created_at=moment, updated_at=moment,
        processed_at=moment, checkout_token=f"bench-chk-{n}", cart_token=f"bench-cart-{n}",
    )  # fmt: skip
    if order.get("customer"):
        order["customer"] = {**order["customer"], "id": ID_BASE + 10_000_000 + n}
    for k, item in enumerate(order["line_items"]):
        item["id"] = ID_BASE + 20_000_000 + n * 10 + k
    return json.dumps(order).encode()


def checkout_body(n: int) -> bytes:
    checkout = copy.deepcopy(sample("checkouts_create"))
    moment = _stamp(n)
    checkout.update(
        id=ID_BASE + 30_000_000 + n, token=f"bench-co-{n}-{uuid.uuid4().hex}",
        cart_token=f"bench-cart-co-{n}", created_at=moment, updated_at=moment,
    )  # fmt: skip
    if checkout.get("customer"):
        checkout["customer"] = {**checkout["customer"], "id": ID_BASE + 40_000_000 + n}
    return json.dumps(checkout).encode()


def customer_body(n: int) -> bytes:
    customer = copy.deepcopy(sample("customers_create"))
    moment = _stamp(n)
    customer.update(
        id=ID_BASE + 50_000_000 + n, email=f"buyer{n}@bench.example", created_at=moment,
        updated_at=moment,
    )  # fmt: skip
    return json.dumps(customer).encode()


def _stamp(n: int) -> str:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return (base + timedelta(seconds=n)).isoformat()


_BODIES = {"orders": order_body, "checkouts": checkout_body, "customers": customer_body}


def mixed(count: int, start: int = 0) -> list[Delivery]:
    """`count` deliveries of the realistic mix, each about a different entity."""
    out = []
    for n in range(start, start + count):
        topic, resource = MIX[n % len(MIX)]
        out.append(Delivery(topic, str(uuid.uuid4()), _BODIES[resource](n)))
    return out
