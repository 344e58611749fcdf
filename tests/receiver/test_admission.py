"""Admission control: a tenant over its share gets 429, a full Redis 503, the others go on."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from cartwheel.embedded import start_redis
from core.admission import MemoryGauge
from core.settings import Settings
from core.wire import StreamConsumer, shards, stream_keys
from receiver import create_app
from tests.support.pipeline import drain_all
from tests.support.services import free_port
from tests.support.webhooks import Sender

Tenant = dict[str, Any]


def _receiver(settings: Settings, **overrides: Any) -> FlaskClient:
    app = create_app(settings.with_overrides(**overrides))
    app.testing = True
    return app.test_client()


def _queued(client: redis.Redis, settings: Settings) -> int:
    return sum(client.xlen(k) for k in stream_keys(settings))


def test_a_flooding_shop_gets_429_and_another_shop_on_its_shard_does_not(
    settings: Settings, make_tenant: Callable[..., Tenant], redis_client: redis.Redis
) -> None:
    tight = settings.with_overrides(stream_shards=1, tenant_rate=0.01, tenant_burst=20)
    client = _receiver(tight)
    flood, victim = make_tenant(), make_tenant()
    flooder = Sender(client, shop=flood["shop"], secret=flood["secret"])
    answers = [flooder.send("orders/create", {"id": i}) for i in range(60)]
    statuses = [a.status_code for a in answers]
    assert statuses[:20] == [200] * 20
    assert set(statuses[20:]) == {429}
    refused = answers[-1]
    assert refused.json["error"] == "rate_limited" and refused.json["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert _queued(redis_client, tight) == 20  # a refused delivery is never written

    other = Sender(client, shop=victim["shop"], secret=victim["secret"])
    assert [other.send("orders/create", {"id": i}).status_code for i in range(20)] == [200] * 20
    assert _queued(redis_client, tight) == 40


def test_a_tenant_at_its_backlog_cap_is_throttled_until_the_drain_catches_up(
    settings: Settings, tenant: Tenant, redis_client: redis.Redis
) -> None:
    capped = settings.with_overrides(stream_shards=1, tenant_backlog_max=5)
    sender = Sender(_receiver(capped), shop=tenant["shop"], secret=tenant["secret"])
    assert [sender.send("orders/create", {"id": i}).status_code for i in range(7)] == [
        *([200] * 5),
        429,
        429,
    ]
    [shard] = shards(capped)
    assert int(redis_client.hget(shard.backlog, str(tenant["id"])) or 0) == 5
    assert drain_all(capped) == 5
    # Every acknowledged entry came off the tenant's count (the hash goes with the last one).
    assert not redis_client.exists(shard.backlog)
    assert sender.send("orders/create", {"id": 9}).status_code == 200


def test_the_backlog_count_heals_when_the_stream_is_empty(
    settings: Settings, tenant: Tenant, redis_client: redis.Redis
) -> None:
    capped = settings.with_overrides(stream_shards=1, tenant_backlog_max=2)
    sender = Sender(_receiver(capped), shop=tenant["shop"], secret=tenant["secret"])
    [shard] = shards(capped)
    redis_client.hset(shard.backlog, str(tenant["id"]), 1000)  # drifted: stream deleted by hand
    assert sender.send("orders/create", {"id": 1}).status_code == 200
    assert redis_client.hget(shard.backlog, str(tenant["id"])) == b"1"


def test_an_entry_processed_twice_is_counted_off_once(
    settings: Settings, make_tenant: Callable[..., Tenant], redis_client: redis.Redis
) -> None:
    one = settings.with_overrides(stream_shards=1)
    a, b = make_tenant(), make_tenant()
    client = _receiver(one)
    for t in (a, a, b):
        assert (
            Sender(client, shop=t["shop"], secret=t["secret"])
            .send("orders/create", {"id": 1})
            .status_code
            == 200
        )
    consumer = StreamConsumer(redis_client, one, "c1")
    consumer.ensure_groups()
    got = consumer.read(10, None)
    first_of_a = [d for d in got if d.fields[b"t"] == str(a["id"]).encode()][:1]
    consumer.ack(first_of_a)
    consumer.ack(first_of_a)  # a reclaimed entry acknowledged again
    [shard] = shards(one)
    assert redis_client.hgetall(shard.backlog) == {
        str(a["id"]).encode(): b"1",
        str(b["id"]).encode(): b"1",
    }


def test_streams_over_the_byte_limit_answer_503_and_the_rest_works(
    settings: Settings,
    tenant: Tenant,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read Redis' memory on every request rather than once a second, so the test knows when.
    monkeypatch.setattr(MemoryGauge, "RECHECK_SECONDS", 0.0)
    small = settings.with_overrides(stream_shards=1, stream_max_bytes=256 * 1024)
    client = _receiver(small)
    sender = Sender(client, shop=tenant["shop"], secret=tenant["secret"])
    pad = "x" * 32 * 1024
    statuses = [sender.send("orders/create", {"id": i, "note": pad}).status_code for i in range(12)]
    accepted = statuses.count(200)
    assert 6 <= accepted < 12 and statuses == [200] * accepted + [503] * (12 - accepted)
    refused = sender.send("orders/create", {"id": 99})
    assert refused.json["error"] == "queue_full" and refused.headers["Retry-After"]
    assert _queued(redis_client, small) == accepted
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # Draining frees the room; deliveries are accepted again and nothing was lost.
    assert drain_all(small) == accepted
    assert sender.send("orders/create", {"id": 100}).status_code == 200


def test_a_redis_near_its_maxmemory_answers_503_before_the_broker_is_refused(
    settings: Settings, tenant: Tenant, tmp_path: Path
) -> None:
    server = start_redis(tmp_path, free_port())
    try:
        own = settings.with_overrides(
            redis_url=server.url,
            namespace=f"cw-{uuid.uuid4().hex[:6]}",
            queue_memory_headroom=0.5,
        )
        raw = redis.Redis.from_url(server.url)
        used = int(raw.info("memory")["used_memory"])
        # Half again what is used: inside the headroom the receiver keeps free for the others.
        raw.config_set("maxmemory", str(int(used * 1.5)))
        sender = Sender(_receiver(own), shop=tenant["shop"], secret=tenant["secret"])
        answer = sender.send("orders/create", {"id": 1})
        assert answer.status_code == 503
        assert answer.json["error"] == "queue_full"
        assert _queued(raw, own) == 0
        # The broker and beat's lock still have room: other writes succeed.
        assert raw.set(f"{own.namespace}:beat-lock", "x")
        raw.config_set("maxmemory", "0")
        raw.close()
    finally:
        server.stop()


def test_an_ingest_flood_is_throttled_per_item(
    settings: Settings,
    api_client: FlaskClient,
    owner: dict[str, Any],
    make_tenant: Callable[..., Tenant],
    redis_client: redis.Redis,
) -> None:
    key = api_client.post("/api/ingest-keys", json={"name": "flood"}, headers=owner["headers"])
    headers = {"Authorization": f"Bearer {key.get_json()['key']}"}
    tight = settings.with_overrides(stream_shards=1, tenant_rate=1.0, tenant_burst=1500)
    client = _receiver(tight)
    items = [{"id": 1000 + i, "email": f"c{i}@example.com"} for i in range(1000)]
    first = client.post("/ingest/customers", json=items, headers=headers)
    assert first.status_code == 202 and first.json["accepted"] == 1000
    again = client.post("/ingest/customers", json=items[:600], headers=headers)
    assert again.status_code == 429
    assert again.json["error"] == "rate_limited" and int(again.headers["Retry-After"]) >= 60
    assert _queued(redis_client, tight) == 1000  # a refused batch queues nothing
    victim = make_tenant()
    other = Sender(client, shop=victim["shop"], secret=victim["secret"])
    assert other.send("orders/create", {"id": 1}).status_code == 200


def test_a_throttled_shop_is_accepted_again_once_its_tokens_are_back(
    settings: Settings, tenant: Tenant
) -> None:
    s = settings.with_overrides(tenant_rate=5.0, tenant_burst=2)
    sender = Sender(_receiver(s), shop=tenant["shop"], secret=tenant["secret"])
    assert [sender.send("orders/create", {"id": i}).status_code for i in range(3)] == [
        200,
        200,
        429,
    ]
    time.sleep(0.5)  # two and a half tokens at 5/s; the bucket holds two
    assert [sender.send("orders/create", {"id": i}).status_code for i in range(3)] == [
        200,
        200,
        429,
    ]
