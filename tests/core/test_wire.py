"""The stream wire format: keys under one hash tag per shard, per-shard bookkeeping, envelopes."""

from __future__ import annotations

import uuid

import redis

from core.settings import Settings
from core.wire import (
    Envelope,
    StreamConsumer,
    StreamWriter,
    consumer_group,
    shard_of,
    shards,
    stream_keys,
)


def _envelope(tenant_id: str, webhook_id: str = "w") -> Envelope:
    return Envelope(tenant_id, "orders/create", webhook_id, "e", "", "2026-07", "now", b"{}")


def _tenants_on_each_shard(settings: Settings) -> list[str]:
    found: dict[int, str] = {}
    while len(found) < settings.stream_shards:
        tenant = str(uuid.uuid4())
        found.setdefault(shard_of(tenant, settings.stream_shards), tenant)
    return [found[n] for n in range(settings.stream_shards)]


def test_every_key_of_a_shard_shares_one_hash_tag(settings: Settings) -> None:
    for shard in shards(settings):
        tag = f"{{events:{shard.index}}}"
        assert shard.stream == f"{settings.namespace}:{tag}"
        assert shard.reclaims.startswith(shard.stream) and tag in shard.reclaims


def test_an_envelope_comes_back_field_for_field(
    settings: Settings, redis_client: redis.Redis
) -> None:
    sent = Envelope(str(uuid.uuid4()), "orders/create", "w1", "e1", "t1", "v1", "r1", b"\x00\xff")
    StreamWriter(redis_client, settings).enqueue(sent)
    consumer = StreamConsumer(redis_client, settings, "c")
    consumer.ensure_groups()
    [delivery] = consumer.read(10, None)
    assert delivery.envelope() == sent
    assert delivery.salvage() == sent


def test_redelivery_counts_are_kept_per_shard_though_entry_ids_repeat(
    settings: Settings, redis_client: redis.Redis
) -> None:
    # Entry ids are per stream: shards that take an entry in the same millisecond give both
    # the same id. Force that, then take the entries over from a dead consumer unevenly.
    first, second = stream_keys(settings)
    for key, tenant in zip((first, second), _tenants_on_each_shard(settings), strict=True):
        fields = {"t": tenant, "tp": "orders/create", "w": "w", "e": "e", "ta": "", "v": "",
                  "ra": "", "b": "{}"}  # fmt: skip
        redis_client.xadd(key, fields, id="1700000000000-0")  # type: ignore[arg-type]
    dead = StreamConsumer(redis_client, settings, "dead")
    dead.ensure_groups()
    assert len(dead.read(10, None)) == 2
    taker = StreamConsumer(redis_client, settings, "taker")
    for _ in range(3):
        claimed = taker.reclaim(idle_ms=0, count=1)  # shard 0 first, one entry per call
        assert [d.shard.stream for d in claimed] == [first]
        redis_client.xclaim(first, consumer_group(settings), "dead", 0, ["1700000000000-0"])
    [on_second] = [d for d in taker.reclaim(idle_ms=0, count=10) if d.shard.stream == second]
    assert on_second.entry_id == "1700000000000-0"
    assert on_second.reclaims == 1  # its own history, not the other shard's three


def test_streams_of_the_earlier_key_format_are_adopted_with_their_entries(
    settings: Settings, redis_client: redis.Redis
) -> None:
    legacy = f"{settings.namespace}:events:0"
    redis_client.xadd(legacy, {"t": "x"})
    redis_client.xgroup_create(legacy, consumer_group(settings), id="0")
    StreamConsumer(redis_client, settings, "c").ensure_groups()
    assert not redis_client.exists(legacy)
    assert redis_client.xlen(stream_keys(settings)[0]) == 1
