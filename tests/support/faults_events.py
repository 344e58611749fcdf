"""Event sets and checks shared by the fault tests: versions, redeliveries, expected rows."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import func, select

from core.settings import Settings
from core.wire import Envelope, consumer_group, stream_keys
from models import Customer, DeadLetter, Order, OrderLineItem, WebhookEvent
from models.db import session_scope
from tests.support.webhooks import Sender

BASE = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
STATUSES = ["pending", "authorized", "paid"]


def customer_payload(ident: int, version: int) -> dict[str, Any]:
    return {
        "id": ident,
        "email": f"c{ident}-v{version}@example.com",
        "first_name": f"Version {version}",
        "updated_at": (BASE + timedelta(minutes=version)).isoformat(),
    }


def order_payload(ident: int, version: int) -> dict[str, Any]:
    """An order whose line items change with each version (version n has n lines)."""
    return {
        "id": ident,
        "financial_status": STATUSES[version % len(STATUSES)],
        "total_price": f"{version}0.00",
        "currency": "EUR",
        "updated_at": (BASE + timedelta(minutes=version)).isoformat(),
        "line_items": [
            {"id": ident * 10 + k, "quantity": version, "price": f"{k}.00", "title": f"L{k}"}
            for k in range(version)
        ],
    }


@dataclass
class EventSet:
    """Deliveries for some tenants; what the tables must hold once all are processed."""

    envelopes: list[Envelope] = field(default_factory=list)
    customers: dict[tuple[uuid.UUID, int], str] = field(default_factory=dict)
    orders: dict[tuple[uuid.UUID, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def tenants(self) -> set[uuid.UUID]:
        return {uuid.UUID(e.tenant_id) for e in self.envelopes}

    @property
    def webhook_ids(self) -> set[tuple[str, str]]:
        return {(e.tenant_id, e.webhook_id) for e in self.envelopes}

    def add(self, tenant_id: uuid.UUID, topic: str, payload: dict[str, Any], version: int) -> None:
        self.envelopes.append(
            Envelope(
                tenant_id=str(tenant_id),
                topic=topic,
                webhook_id=f"{topic}-{payload['id']}-v{version}",
                event_id=str(uuid.uuid4()),
                triggered_at=payload["updated_at"],
                api_version="2026-07",
                received_at=datetime.now(UTC).isoformat(),
                body=json.dumps(payload).encode(),
            )
        )

    def versions(
        self, tenant_id: uuid.UUID, kind: str, ids: range, rng: random.Random, versions: int = 3
    ) -> None:
        """Every version of every entity in a shuffled order, a tenth of them delivered twice."""
        start = len(self.envelopes)
        for ident in ids:
            for version in range(1, versions + 1):
                if kind == "customers":
                    self.add(
                        tenant_id, "customers/update", customer_payload(ident, version), version
                    )
                else:
                    self.add(tenant_id, "orders/updated", order_payload(ident, version), version)
            if kind == "customers":
                self.customers[(tenant_id, ident)] = customer_payload(ident, versions)["email"]
            else:
                self.orders[(tenant_id, ident)] = order_payload(ident, versions)
        mine = self.envelopes[start:]
        mine.extend(rng.sample(mine, len(mine) // 10))
        rng.shuffle(mine)
        self.envelopes[start:] = mine


def logged_ids(settings: Settings, tenants: set[uuid.UUID]) -> list[tuple[str, str]]:
    """(tenant, webhook id) of every row in the event log for these tenants."""
    with session_scope(settings.database_url) as s:
        rows = s.execute(
            select(WebhookEvent.tenant_id, WebhookEvent.webhook_id).where(
                WebhookEvent.tenant_id.in_(tenants)
            )
        )
        return [(str(t), w) for t, w in rows]


def count_rows(settings: Settings, model: Any, tenants: set[uuid.UUID]) -> int:
    with session_scope(settings.database_url) as s:
        query = select(func.count()).select_from(model).where(model.tenant_id.in_(tenants))
        return s.scalar(query) or 0


def assert_tables_match(settings: Settings, events: EventSet) -> None:
    """Exactly one log row per distinct delivery, no dead letters, newest versions in place."""
    tenants = events.tenants
    logged = logged_ids(settings, tenants)
    missing, unexpected = events.webhook_ids - set(logged), set(logged) - events.webhook_ids
    assert not missing and not unexpected, f"missing {missing}, unexpected {unexpected}"
    dead = count_rows(settings, DeadLetter, tenants)
    assert dead == 0, f"{dead} dead letters"
    with session_scope(settings.database_url) as s:
        customers = {
            (c.tenant_id, c.shopify_id): c.email
            for c in s.scalars(select(Customer).where(Customer.tenant_id.in_(tenants)))
        }
        orders = {
            (o.tenant_id, o.shopify_id): o
            for o in s.scalars(select(Order).where(Order.tenant_id.in_(tenants)))
        }
        lines = {
            (li.tenant_id, li.order_id, li.shopify_id, li.quantity)
            for li in s.scalars(select(OrderLineItem).where(OrderLineItem.tenant_id.in_(tenants)))
        }
    wrong = {k: v for k, v in customers.items() if events.customers.get(k) != v}
    assert customers.keys() == events.customers.keys() and not wrong, f"customers off: {wrong}"
    assert orders.keys() == events.orders.keys()
    for key, payload in events.orders.items():
        got = (orders[key].financial_status, orders[key].total_price)
        assert got == (payload["financial_status"], Decimal(payload["total_price"])), key
    expected_lines = {
        (tenant, ident, li["id"], li["quantity"])
        for (tenant, ident), payload in events.orders.items()
        for li in payload["line_items"]
    }
    assert lines == expected_lines, f"line items off: {lines ^ expected_lines}"


def assert_streams_empty(settings: Settings, client: redis.Redis) -> None:
    for key in stream_keys(settings):
        left = (client.xlen(key), client.xpending(key, consumer_group(settings))["pending"])
        assert left == (0, 0), f"{key}: (length, pending) = {left}"


def wait_until(
    done: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    every: float = 0.1,
    nudge: Callable[[], None] | None = None,
    nudge_every: float = 1.0,
) -> None:
    """Poll until done() holds; nudge() (e.g. queue a drain, as beat would) now and then."""
    deadline = time.monotonic() + timeout
    next_nudge = time.monotonic()
    while not done():
        now = time.monotonic()
        if now > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        if nudge and now >= next_nudge:
            nudge()
            next_nudge = now + nudge_every
        time.sleep(every)


def post_envelopes(sender: Sender, envelopes: list[Envelope], status: int = 200) -> None:
    """Post each envelope's delivery to the receiver, as Shopify would have sent it."""
    for e in envelopes:
        response = sender.send(
            e.topic, e.body, webhook_id=e.webhook_id, **{"X-Shopify-Triggered-At": e.triggered_at}
        )
        assert response.status_code == status, response.get_json()
