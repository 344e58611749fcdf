"""The Redis Streams wire format between the receiver and the workers: the one place that knows it.

One entry per accepted delivery. The receiver appends it with `StreamWriter.enqueue`; workers
read it back through a consumer group with `StreamConsumer` and get `Delivery` objects, whose
`envelope()` rebuilds what was written. The raw field codes, the key names and the per-entry
bookkeeping (how often an entry was reclaimed) live here and nowhere else.

Streams are sharded by tenant. Every key of one shard carries the same Redis hash tag
(`<namespace>:{events:N}`, `<namespace>:{events:N}:reclaims`) and each shard is read with its own
XREADGROUP, so the shards can move to a Redis Cluster unchanged. Entry ids are per stream: two
shards hand out the same id in the same millisecond, so every per-entry record is kept per shard.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from core.errors import CartwheelError

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

# Field codes of an entry; short because every delivery carries them.
_TENANT, _TOPIC, _WEBHOOK, _EVENT = b"t", b"tp", b"w", b"e"
_TRIGGERED, _VERSION, _RECEIVED, _BODY = b"ta", b"v", b"ra", b"b"
_TEXT_FIELDS = (_TENANT, _TOPIC, _WEBHOOK, _EVENT, _TRIGGERED, _VERSION, _RECEIVED)


class QueueFull(CartwheelError):
    """The stream is over its high-water mark."""


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


def shards(settings: Settings) -> list[Shard]:
    """Every shard, in shard order."""
    out = []
    for n in range(settings.stream_shards):
        stream = f"{settings.namespace}:{{events:{n}}}"
        out.append(Shard(n, stream, f"{stream}:reclaims"))
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
    """Appends envelopes to the sharded streams, refusing past the high-water mark.

    Near the mark, an entry is added and the stream's length read in one round trip, and an entry
    that took the stream past the mark is deleted again and refused. (A Lua script doing both
    atomically costs Redis three times the CPU of the XADD itself.) Should a drain read the entry
    before it is deleted, the delivery is both processed and refused: Shopify delivers it again
    and the event log takes it as the duplicate it is; nothing accepted is ever dropped. Far below
    the mark -- a length read within the last second, more than a tenth of the mark away -- the
    entry is simply added.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, client: redis.Redis | Any, settings: Settings) -> None:
        self._client = client
        self._keys = stream_keys(settings)
        self._high_water = settings.queue_high_water
        self._margin = max(1, settings.queue_high_water // 10)
        self._roomy_until: dict[str, float] = {}

    def enqueue(self, envelope: Envelope) -> str:
        """Append one envelope; returns the entry id or raises QueueFull / redis errors.

        A connection that broke since its last use (Redis restarted) fails its first command;
        the append is tried once more on a fresh one. Should both have reached Redis, the event
        log takes the second as a duplicate.
        """
        try:
            return self._append(envelope)
        except redis.ConnectionError:
            return self._append(envelope)

    def _append(self, envelope: Envelope) -> str:
        key = self._keys[shard_of(envelope.tenant_id, len(self._keys))]
        fields = envelope.to_fields()
        if self._roomy_until.get(key, 0.0) > time.monotonic():
            return _text(self._client.execute_command("XADD", key, "*", *fields))
        pipe = self._client.pipeline(transaction=False)
        pipe.execute_command("XADD", key, "*", *fields)
        pipe.execute_command("XLEN", key)
        entry_id, length = pipe.execute()
        if length > self._high_water:
            self._client.xdel(key, entry_id)
            raise QueueFull(key)
        if length < self._high_water - self._margin:
            self._roomy_until[key] = time.monotonic() + self.RECHECK_SECONDS
        else:
            self._roomy_until.pop(key, None)
        return _text(entry_id)


class StreamConsumer:
    """One consumer in the workers' group, reading every shard with an XREADGROUP of its own."""

    def __init__(self, client: redis.Redis, settings: Settings, name: str) -> None:
        self.client = client
        self.name = name
        self.group = consumer_group(settings)
        self.shards = shards(settings)
        self._namespace = settings.namespace
        self._next_wait = 0  # the shard the next blocking read waits on, in turn

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
            ids = [d.entry_id for d in mine]
            pipe.xack(shard.stream, self.group, *ids)
            pipe.xdel(shard.stream, *ids)
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
