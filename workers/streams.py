"""The consumer side of the event streams: read through a consumer group, ack, reclaim."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis

from cartwheel.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Delivery:
    """One stream entry handed to this consumer."""

    stream: str
    entry_id: str
    fields: dict[bytes, bytes] = field(repr=False)
    reclaims: int = 0


class StreamConsumer:
    """One consumer in the workers' group, reading every shard."""

    def __init__(self, client: redis.Redis, settings: Settings, name: str) -> None:
        self.client = client
        self.settings = settings
        self.name = name
        self.group = settings.consumer_group
        self.keys = settings.stream_keys
        self._reclaims_key = f"{settings.namespace}:reclaims"

    def ensure_groups(self) -> None:
        """Create the consumer group on every shard (idempotent)."""
        for key in self.keys:
            try:
                self.client.xgroup_create(key, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read(self, count: int, block_ms: int | None, *, pending: bool = False) -> list[Delivery]:
        """New entries (or, with pending=True, this consumer's unacknowledged ones)."""
        start = "0" if pending else ">"
        try:
            reply = self.client.xreadgroup(
                self.group, self.name, dict.fromkeys(self.keys, start), count=count, block=block_ms
            )
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_groups()
            return []
        streams: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]] = reply or []  # type: ignore[assignment]
        return [
            Delivery(stream=_text(key), entry_id=_text(entry_id), fields=fields)
            for key, entries in streams
            for entry_id, fields in entries
            if fields  # a pending entry deleted from the stream comes back empty
        ]

    def ack(self, deliveries: list[Delivery]) -> None:
        """Acknowledge and delete processed entries (the stream is a queue, not a log)."""
        if not deliveries:
            return
        pipe = self.client.pipeline(transaction=False)
        by_stream: dict[str, list[str]] = {}
        for d in deliveries:
            by_stream.setdefault(d.stream, []).append(d.entry_id)
        for stream, ids in by_stream.items():
            pipe.xack(stream, self.group, *ids)
            pipe.xdel(stream, *ids)
        reclaimed = [d.entry_id for d in deliveries if d.reclaims]
        if reclaimed:
            pipe.hdel(self._reclaims_key, *reclaimed)
        pipe.execute()

    def reclaim(self, idle_ms: int, count: int) -> list[Delivery]:
        """Take over entries a dead or stuck consumer left pending longer than idle_ms."""
        claimed: list[Delivery] = []
        for key in self.keys:
            start = "0-0"
            while len(claimed) < count:
                reply = self.client.xautoclaim(
                    key, self.group, self.name, idle_ms, start, count=count - len(claimed)
                )
                start, entries = _text(reply[0]), reply[1]
                for entry_id, fields in entries:
                    if fields:
                        claimed.append(Delivery(key, _text(entry_id), fields))
                    else:  # deleted from the stream after it was read: nothing left to do
                        self.client.xack(key, self.group, entry_id)
                if start == "0-0":
                    break
        if claimed:
            pipe = self.client.pipeline(transaction=False)
            for d in claimed:
                pipe.hincrby(self._reclaims_key, d.entry_id, 1)
            for d, times in zip(claimed, pipe.execute(), strict=True):
                d.reclaims = int(times)
        return claimed

    def forgive(self, deliveries: list[Delivery]) -> None:
        """Take back the delivery count of reclaimed entries whose attempt failed transiently."""
        reclaimed = [d for d in deliveries if d.reclaims]
        if not reclaimed:
            return
        pipe = self.client.pipeline(transaction=False)
        for d in reclaimed:
            pipe.hincrby(self._reclaims_key, d.entry_id, -1)
        spent = [
            d.entry_id for d, times in zip(reclaimed, pipe.execute(), strict=True) if times <= 0
        ]
        if spent:
            self.client.hdel(self._reclaims_key, *spent)

    def backlog(self) -> dict[str, dict[str, int]]:
        """Per shard: entries waiting (not yet acked) and entries pending with a consumer."""
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys:
            pipe.xlen(key)
            pipe.xpending(key, self.group)
        replies = pipe.execute(raise_on_error=False)
        out: dict[str, dict[str, int]] = {}
        for i, key in enumerate(self.keys):
            length, pend = replies[2 * i], replies[2 * i + 1]
            out[key] = {
                "length": length if isinstance(length, int) else 0,
                "pending": pend.get("pending", 0) if isinstance(pend, dict) else 0,
            }
        return out

    def consumers(self) -> dict[str, dict[str, int]]:
        """Per consumer in the group, over every shard: its pending entries and idle time (ms)."""
        pipe = self.client.pipeline(transaction=False)
        for key in self.keys:
            pipe.xinfo_consumers(key, self.group)
        out: dict[str, dict[str, int]] = {}
        for reply in pipe.execute(raise_on_error=False):
            if not isinstance(reply, list):  # no stream or no group on this shard yet
                continue
            for info in reply:
                seen = out.setdefault(_text(info["name"]), {"pending": 0, "idle_ms": info["idle"]})
                seen["pending"] += int(info["pending"])
                seen["idle_ms"] = min(seen["idle_ms"], int(info["idle"]))
        return out


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
