"""Tenant-fair batches: a victim's entry behind a flood from another tenant is written first."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import func, select

from core.settings import Settings
from core.wire import Delivery, Envelope, StreamWriter, shards
from models import Order, WebhookEvent
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.processes import celery_worker, receiver_server, send_task
from tests.support.samples import sample_json
from tests.support.services import free_port
from tests.support.webhooks import shopify_headers
from workers.drain.fair import FairReader, fair_split
from workers.drain.loop import _read_for
from workers.runtime import Resources

Tenant = dict[str, Any]


def _delivery(tenant: str, n: int) -> Delivery:
    shard = shards(Settings("postgresql://x", "redis://x", "k"))[0]
    return Delivery(shard, f"{n}-0", {b"t": tenant.encode()})


def test_a_batch_shares_its_room_equally_among_tenants() -> None:
    pool = [_delivery("flood", n) for n in range(100)]
    pool.insert(50, _delivery("victim", 1000))
    pool += [_delivery("third", 2000 + n) for n in range(3)]
    chosen, rest = fair_split(pool, 10)
    tenants = [d.fields[b"t"] for d in chosen]
    assert tenants.count(b"victim") == 1 and tenants.count(b"third") == 3
    assert tenants.count(b"flood") == 6
    # Oldest first within a tenant, and nothing dropped or doubled.
    assert [d.entry_id for d in chosen if d.fields[b"t"] == b"flood"] == [
        f"{n}-0" for n in range(6)
    ]
    assert sorted(d.entry_id for d in chosen + rest) == sorted(d.entry_id for d in pool)
    assert fair_split(pool[:5], 10) == (pool[:5], [])


def _envelope(tenant_id: str, webhook_id: str, payload: dict[str, Any]) -> Envelope:
    now = "2026-01-01T00:00:00+00:00"
    body = json.dumps(payload).encode()
    return Envelope(tenant_id, "orders/create", webhook_id, "", now, "", now, body)


def test_the_victims_entry_behind_a_flood_is_in_the_first_batch(
    settings: Settings, make_tenant: Callable[..., Tenant], redis_client: redis.Redis
) -> None:
    s = settings.with_overrides(
        stream_shards=1, tenant_rate=0.0, drain_batch_size=100, drain_fair_window=3000
    )
    flood, victim = make_tenant(), make_tenant()
    writer = StreamWriter(redis_client, s)
    order = sample_json("orders_create")
    flood_envelopes = [
        _envelope(str(flood["id"]), f"f{i}", order | {"id": 10_000 + i}) for i in range(2000)
    ]
    for start in range(0, 2000, 500):
        writer.enqueue_many(flood_envelopes[start : start + 500])
    writer.enqueue(_envelope(str(victim["id"]), "victim", order | {"id": 1}))

    res = Resources(s, consumer_name="fair-test")
    try:
        res.consumer.ensure_groups()
        reader = FairReader(res.consumer, s, _read_for)
        first = reader.first()
        assert len(first) == 100
        assert [d.entry_id for d in first if d.fields[b"t"] == str(victim["id"]).encode()]
        assert len(reader.carry) == 1901  # read ahead, pending in Redis, not yet written
    finally:
        res.close()
    # Whatever the reader carried is this consumer's pending entry: the next drain writes it.
    assert drain_all(s, name="fair-test") == 2001
    with session_scope(s.database_url) as session:
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 2001
    assert redis_client.xlen(shards(s)[0].stream) == 0
    assert not redis_client.exists(shards(s)[0].backlog)


def _count(settings: Settings, model: Any, tenant_id: uuid.UUID) -> int:
    with session_scope(settings.database_url) as session:
        query = select(func.count()).select_from(model).filter_by(tenant_id=tenant_id)
        return session.scalar(query) or 0


def test_a_flooding_tenant_is_throttled_and_a_victim_on_its_shard_overtakes_the_flood(
    settings: Settings, make_tenant: Callable[..., Tenant], tmp_path: Path
) -> None:
    s = settings.with_overrides(
        stream_shards=1,
        tenant_rate=1000.0,
        tenant_burst=600,
        tenant_backlog_max=600,
        drain_batch_size=50,
        drain_fair_window=700,
    )
    flood, victim = make_tenant(), make_tenant()
    order = sample_json("orders_create")
    with receiver_server(s, tmp_path, free_port()) as base:
        session = requests.Session()

        def post(t: Tenant, payload: dict[str, Any]) -> requests.Response:
            body = json.dumps(payload).encode()
            headers = shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"])
            return session.post(f"{base}/webhooks", data=body, headers=headers, timeout=5)

        answers = [post(flood, order | {"id": 10_000 + i}) for i in range(700)]
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) == 600 and statuses.count(429) == 100
        throttled = next(a for a in answers if a.status_code == 429)
        assert throttled.json()["error"] == "rate_limited" and throttled.headers["Retry-After"]
        assert post(victim, order | {"id": 1}).status_code == 200

    with celery_worker(s, tmp_path):
        send_task(s, "cartwheel.drain")
        deadline = time.monotonic() + 60
        while not _count(s, Order, victim["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _count(s, Order, victim["id"]) == 1
        deadline = time.monotonic() + 60
        while _count(s, WebhookEvent, flood["id"]) < 600 and time.monotonic() < deadline:
            send_task(s, "cartwheel.drain")
            time.sleep(0.5)
        assert _count(s, WebhookEvent, flood["id"]) == 600  # nothing accepted was lost
    # The victim's delivery was written while most of the flood still waited: fewer than half
    # of the flood's were written by transactions that began before the victim's.
    with session_scope(s.database_url) as session:
        at = session.scalar(select(WebhookEvent.processed_at).filter_by(tenant_id=victim["id"]))
        earlier = select(func.count()).select_from(WebhookEvent)
        earlier = earlier.filter_by(tenant_id=flood["id"]).filter(WebhookEvent.processed_at < at)
        assert (session.scalar(earlier) or 0) < 300


def test_without_a_read_ahead_window_the_drain_still_drains(
    settings: Settings, tenant: Tenant, redis_client: redis.Redis
) -> None:
    s = settings.with_overrides(stream_shards=1, drain_batch_size=10, drain_fair_window=0)
    writer = StreamWriter(redis_client, s)
    order = sample_json("orders_create")
    writer.enqueue_many([_envelope(str(tenant["id"]), f"w{i}", order) for i in range(35)])
    assert drain_all(s) == 35
    assert redis_client.xlen(shards(s)[0].stream) == 0
