"""The Redis Streams contract between the receiver and the workers.

One entry per accepted webhook. The receiver writes it with `enqueue`; workers read it back
with `Envelope.from_fields`. Streams are sharded by tenant so that scale-out (Redis Cluster,
more consumers) never splits one tenant's ordering concerns across keys.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import redis

# Refuse the entry instead of growing past the high-water mark; checked and added atomically.
_GUARDED_XADD = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
"""


class QueueFull(Exception):
    """The stream is over its high-water mark."""


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
            "t", self.tenant_id, "tp", self.topic, "w", self.webhook_id, "e", self.event_id,
            "ta", self.triggered_at, "v", self.api_version, "ra", self.received_at,
            "b", self.body,
        ]  # fmt: skip

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Envelope:
        """Rebuild an envelope from a stream entry's fields (KeyError if one is missing)."""

        def text(key: bytes) -> str:
            return fields[key].decode()

        return cls(
            tenant_id=text(b"t"),
            topic=text(b"tp"),
            webhook_id=text(b"w"),
            event_id=text(b"e"),
            triggered_at=text(b"ta"),
            api_version=text(b"v"),
            received_at=text(b"ra"),
            body=fields[b"b"],
        )


def shard_of(tenant_id: str, shards: int) -> int:
    """The stream shard a tenant's events go to (stable across processes)."""
    return zlib.crc32(tenant_id.encode()) % shards


class StreamWriter:
    """Appends envelopes to the sharded streams, refusing past the high-water mark."""

    def __init__(self, client: redis.Redis, keys: list[str], high_water: int) -> None:
        self._keys = keys
        self._high_water = high_water
        self._script = client.register_script(_GUARDED_XADD)

    def enqueue(self, envelope: Envelope) -> str:
        """Append one envelope; returns the entry id or raises QueueFull / redis errors."""
        key = self._keys[shard_of(envelope.tenant_id, len(self._keys))]
        entry_id = self._script(keys=[key], args=[self._high_water, *envelope.to_fields()])
        if entry_id is None:
            raise QueueFull(key)
        return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
