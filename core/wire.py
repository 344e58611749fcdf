"""The Redis Streams wire format between the receiver and the workers: the one place that knows it.

One entry per accepted delivery. The receiver appends it with `StreamWriter.enqueue`; workers
read it back through a consumer group with `StreamConsumer` and get `Delivery` objects, whose
`envelope()` rebuilds what was written. The raw field codes, the key names and the per-entry
bookkeeping (how often an entry was reclaimed) live here and nowhere else.

Streams are sharded by tenant. Every key of one shard carries the same Redis hash tag
(`<namespace>:{events:N}`, its `:reclaims`, `:backlog` and `:rate:<tenant>` keys) and each shard
is read with its own XREADGROUP, so the shards can move to a Redis Cluster unchanged. Appends
and acknowledgements go through the scripts of core/admission.py, which keep each tenant's
backlog count and token bucket. Entry ids are per stream: two
shards hand out the same id in the same millisecond, so every per-entry record is kept per shard.
"""

from __future__ import annotations

import logging
import math
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from core import admission
from core.errors import CartwheelError

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

# Field codes of an entry; short because every delivery carries them.
_TENANT, _TOPIC, _WEBHOOK, _EVENT = b"t", b"tp", b"w", b"e"
_TRIGGERED, _VERSION, _RECEIVED, _BODY = b"ta", b"v", b"ra", b"b"
_TEXT_FIELDS = (_TENANT, _TOPIC, _WEBHOOK, _EVENT, _TRIGGERED, _VERSION, _RECEIVED)


class QueueFull(CartwheelError):
    """The stream is over its high-water mark, or Redis is short of memory."""


class Throttled(QueueFull):
    """The tenant is over its rate or its backlog; `retry_after` is in whole seconds.

    A QueueFull, so callers that only know that one still refuse rather than fail."""

    def __init__(self, key: str, retry_after: int) -> None:
        super().__init__(key)
        self.retry_after = retry_after


class MalformedEntry(CartwheelError):
    """A stream entry that is not a cartwheel envelope."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One delivery as it travels through the stream."""

    tenant_id: str
    topic: str
    webhook_id: str
    event_id: str
    triggered_at: str
    api_version: str
    received_at: str
    body: bytes

    def to_fields(self) -> list[bytes | str]:
        """Flat field/value list for XADD."""
        return [
            _TENANT, self.tenant_id, _TOPIC, self.topic, _WEBHOOK, self.webhook_id,
            _EVENT, self.event_id, _TRIGGERED, self.triggered_at, _VERSION, self.api_version,
            _RECEIVED, self.received_at, _BODY, self.body,
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Shard:
    """One stream shard and the keys that belong to it (all under one hash tag)."""

    index: int
    stream: str
    reclaims: str  # hash: entry id -> times the entry was taken over from a dead consumer
    backlog: str = ""  # hash: tenant id -> its entries in this stream not yet acknowledged

    def bucket(self, tenant_id: str) -> str:
        """The key of a tenant's token bucket (under this shard's hash tag)."""
        return f"{self.stream}:rate:{tenant_id}"


def shards(settings: Settings) -> list[Shard]:
    """Every shard, in shard order."""
    out = []
    for n in range(settings.stream_shards):
        stream = f"{settings.namespace}:{{events:{n}}}"
        out.append(Shard(n, stream, f"{stream}:reclaims", f"{stream}:backlog"))
    return out


def stream_keys(settings: Settings) -> list[str]:
    """Every shard's stream key, in shard order."""
    return [s.stream for s in shards(settings)]


def consumer_group(settings: Settings) -> str:
    """The consumer group every drain reads through."""
    return f"{settings.namespace}-workers"


def shard_of(tenant_id: str, count: int) -> int:
    """The shard a tenant's events go to (stable across processes and restarts)."""
    return zlib.crc32(tenant_id.encode()) % count


@dataclass(slots=True)
class Delivery:
    """One stream entry handed to this consumer."""

    shard: Shard
    entry_id: str
    fields: dict[bytes, bytes] = field(repr=False)
    reclaims: int = 0  # times it was taken over from a consumer that died with it

    def envelope(self) -> Envelope:
        """The envelope the receiver wrote; raises MalformedEntry if this is not one."""
        try:
            return _envelope([self.fields[k].decode() for k in _TEXT_FIELDS], self.fields[_BODY])
        except (KeyError, UnicodeDecodeError) as exc:
            raise MalformedEntry(f"entry {self.entry_id} is not an envelope") from exc

    def salvage(self) -> Envelope:
        """Whatever the entry holds, as an envelope (missing fields empty): for dead letters."""
        text = [(self.fields.get(k) or b"").decode(errors="replace") for k in _TEXT_FIELDS]
        return _envelope(text, self.fields.get(_BODY, b""))


def _envelope(text: list[str], body: bytes) -> Envelope:
    tenant, topic, webhook, event, triggered, version, received = text
    return Envelope(tenant, topic, webhook, event, triggered, version, received, body)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StreamWriter:
    """Appends envelopes to the sharded streams through admission control (core/admission.py).

    One script call per request (a delivery, or a whole `/ingest` batch) checks the shard's
    high-water mark, the tenant's backlog and its token bucket and appends atomically, so a
    refused entry is never written. Redis memory is read at most once a second.
    """

    def __init__(self, client: redis.Redis | Any, settings: Settings) -> None:
        self._client = client
        self._shards = shards(settings)
        self._settings = settings
        self._admit = client.register_script(admission.ADMIT)
        self._gauge = admission.MemoryGauge(
            [s.stream for s in self._shards],
            settings.stream_max_bytes,
            settings.queue_memory_headroom,
        )

    def enqueue(self, envelope: Envelope) -> str:
        """Append one envelope; returns the entry id or raises QueueFull / Throttled / redis
        errors."""
        return self.enqueue_many([envelope])[0]

    def enqueue_many(self, envelopes: list[Envelope]) -> list[str]:
        """Append envelopes of one tenant, all or none; their entry ids.

        A connection that broke since its last use (Redis restarted) fails its first command;
        the append is tried once more on a fresh one. Should both have reached Redis, the event
        log takes the second as a duplicate.
        """
        if not envelopes:
            return []
        try:
            return self._append(envelopes)
        except redis.ConnectionError:
            return self._append(envelopes)

    def _append(self, envelopes: list[Envelope]) -> list[str]:
        tenant = envelopes[0].tenant_id
        if any(e.tenant_id != tenant for e in envelopes):
            raise ValueError("enqueue_many takes the envelopes of one tenant")
        shard = self._shards[shard_of(tenant, len(self._shards))]
        problem = self._gauge.problem(self._client)
        if problem:
            raise QueueFull(f"{shard.stream}: {problem}")
        s = self._settings
        fields = [f for e in envelopes for f in e.to_fields()]
        width = len(fields) // len(envelopes)
        head: list[Any] = [tenant, s.tenant_rate, s.tenant_burst]
        head += [s.tenant_backlog_max, s.queue_high_water, len(envelopes), width]
        verdict = admission.read_verdict(
            self._admit(
                keys=[shard.stream, shard.backlog, shard.bucket(tenant)],
                args=head + fields,
                client=self._client,
            )
        )
        if verdict.outcome == "throttled":
            raise Throttled(shard.stream, max(1, math.ceil(verdict.retry_after_ms / 1000)))
        if verdict.outcome != "ok":
            raise QueueFull(shard.stream)
        return verdict.entry_ids


class StreamConsumer:
    """One consumer in the workers' group, reading every shard with an XREADGROUP of its own."""

    def __init__(self, client: redis.Redis, settings: Settings, name: str) -> None:
        self.client = client
        self.name = name
        self.group = consumer_group(settings)
        self.shards = shards(settings)
        self._namespace = settings.namespace
        self._next_wait = 0  # the shard the next blocking read waits on, in turn
        self._ack = client.register_script(admission.ACK)

    def ensure_groups(self) -> None:
        """Create the consumer group on every shard (idempotent); adopt pre-hash-tag streams."""
        for shard in self.shards:
            # Streams of earlier releases were named `<namespace>:events:N`; RENAME keeps their
            # entries, group and pending entries. Their reclaim counts were not kept per shard.
            legacy = f"{self._namespace}:events:{shard.index}"
            if self.client.exists(legacy) and self.client.renamenx(legacy, shard.stream):
                log.warning("adopted a stream of an earlier release", extra={"key": legacy})
            try:
                self.client.xgroup_create(shard.stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self.client.delete(f"{self._namespace}:reclaims")

    def read(self, count: int, block_ms: int | None, *, pending: bool = False) -> list[Delivery]:
        """Up to `count` entries per shard: new ones, or (pending=True) this consumer's own
        unacknowledged ones. When every shard is empty, wait up to block_ms on one of them."""
        start = "0" if pending else ">"
        pipe = self.client.pipeline(transaction=False)
        for shard in self.shards:
            pipe.xreadgroup(self.group, self.name, {shard.stream: start}, count=count)
        replies = pipe.execute(raise_on_error=False)
        got = self._deliveries(self.shards, replies)
        if got or pending or not block_ms:
            return got
        shard = self.shards[self._next_wait % len(self.shards)]
        self._next_wait += 1
        reply: Any
        try:
            reply = self.client.xreadgroup(
                self.group, self.name, {shard.stream: ">"}, count=count, block=block_ms
            )
        except redis.ResponseError as exc:
            reply = exc
        return self._deliveries([shard], [reply])

    def _deliveries(self, shards: list[Shard], replies: list[Any]) -> list[Delivery]:
        out: list[Delivery] = []
        for shard, reply in zip(shards, replies, strict=True):
            if isinstance(reply, redis.ResponseError):
                if "NOGROUP" not in str(reply):
                    raise reply
                self.ensure_groups()  # the stream was deleted (FLUSHALL, a new Redis)
                continue
            if isinstance(reply, Exception):
                raise reply
            for _key, entries in reply or []:
                out.extend(
                    Delivery(shard, _text(entry_id), fields)
                    for entry_id, fields in entries
                    if fields  # a pending entry deleted from the stream comes back empty
                )
        return out

    def ack(self, deliveries: list[Delivery]) -> None:
        """Acknowledge and delete processed entries (the stream is a queue, not a log)."""
        if not deliveries:
            return
        pipe = self.client.pipeline(transaction=False)
        for shard, mine in _by_shard(deliveries).items():
            pairs = [v for d in mine for v in (d.entry_id, d.fields.get(_TENANT, b""))]
            self._ack(keys=[shard.stream, shard.backlog], args=[self.group, *pairs], client=pipe)
            reclaimed = [d.entry_id for d in mine if d.reclaims]
            if reclaimed:
                pipe.hdel(shard.reclaims, *reclaimed)
        pipe.execute()

    def reclaim(self, idle_ms: int, count: int) -> list[Delivery]:
        """Take over entries a dead or stuck consumer left pending longer than idle_ms."""
        claimed: list[Delivery] = []
        for shard in self.shards:
            start = "0-0"
            while len(claimed) < count:
                reply = self.client.xautoclaim(
                    shard.stream, self.group, self.name, idle_ms, start, count=count - len(claimed)
                )
                start, entries = _text(reply[0]), reply[1]
                for entry_id, fields in entries:
                    if fields:
                        claimed.append(Delivery(shard, _text(entry_id), fields))
                    else:  # deleted from the stream after it was read: nothing left to do
                        self.client.xack(shard.stream, self.group, entry_id)
                if start == "0-0":
                    break
        if claimed:
            pipe = self.client.pipeline(transaction=False)
            for d in claimed:
                pipe.hincrby(d.shard.reclaims, d.entry_id, 1)
            for d, times in zip(claimed, pipe.execute(), strict=True):
                d.reclaims = int(times)
        return claimed

    def forgive(self, deliveries: list[Delivery]) -> None:
        """Take back the reclaim count of entries whose attempt failed transiently."""
        reclaimed = [d for d in deliveries if d.reclaims]
        if not reclaimed:
            return
        pipe = self.client.pipeline(transaction=False)
        for d in reclaimed:
            pipe.hincrby(d.shard.reclaims, d.entry_id, -1)
        spent = [d for d, times in zip(reclaimed, pipe.execute(), strict=True) if times <= 0]
        if spent:
            pipe = self.client.pipeline(transaction=False)
            for d in spent:
                pipe.hdel(d.shard.reclaims, d.entry_id)
            pipe.execute()

    def backlog(self) -> dict[str, dict[str, int]]:
        """Per shard: entries waiting (not yet acked) and entries pending with a consumer."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.shards:
            pipe.xlen(shard.stream)
            pipe.xpending(shard.stream, self.group)
        replies = pipe.execute(raise_on_error=False)
        out: dict[str, dict[str, int]] = {}
        for i, shard in enumerate(self.shards):
            length, pend = replies[2 * i], replies[2 * i + 1]
            out[shard.stream] = {
                "length": length if isinstance(length, int) else 0,
                "pending": pend.get("pending", 0) if isinstance(pend, dict) else 0,
            }
        return out

    def consumers(self) -> dict[str, dict[str, int]]:
        """Per consumer in the group, over every shard: its pending entries and idle time (ms)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in self.shards:
            pipe.xinfo_consumers(shard.stream, self.group)
        out: dict[str, dict[str, int]] = {}
        for reply in pipe.execute(raise_on_error=False):
            if not isinstance(reply, list):  # no stream or no group on this shard yet
                continue
            for info in reply:
                seen = out.setdefault(_text(info["name"]), {"pending": 0, "idle_ms": info["idle"]})
                seen["pending"] += int(info["pending"])
                seen["idle_ms"] = min(seen["idle_ms"], int(info["idle"]))
        return out


def _by_shard(deliveries: list[Delivery]) -> dict[Shard, list[Delivery]]:
    out: dict[Shard, list[Delivery]] = {}
    for d in deliveries:
        out.setdefault(d.shard, []).append(d)
    return out
