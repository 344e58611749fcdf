"""Admission to the event streams: per-tenant fairness and Redis memory, decided before an XADD.

Two guards keep one tenant from slowing the others and keep Redis from filling up:

- `ADMIT`, a Lua script run instead of a bare XADD (one round trip, atomic): it refuses when the
  shard is over its high-water mark, when the tenant already has `backlog_max` un-drained
  entries in its shard, or when the tenant's token bucket (rate per second, burst) has too few
  tokens; otherwise it appends the entries, counts them in the shard's backlog hash and takes
  the tokens. The bucket is kept as one timestamp (the generic cell rate algorithm: the time at
  which the bucket would be full again), which costs Redis one GET and one SET. An `/ingest`
  batch costs one token per item (at most the burst, so a batch larger than the burst is not
  refused for ever). Refusals take no tokens. Time is Redis' own clock (TIME), the same for
  every receiver host.
- `ACK`, the drain's counterpart: XACK and XDEL each entry and take it off its tenant's backlog
  count only when XDEL removed it, so an entry processed twice (reclaimed) is not counted off
  twice. An empty stream clears the backlog hash, which heals any drift (a stream deleted by
  hand, a FLUSHALL of half the keys).
- `MemoryGauge`: the bytes the streams hold (MEMORY USAGE) and Redis' used_memory against its
  maxmemory, read at most once a second per process (INFO is too costly for every request).

Every key a script touches carries the shard's hash tag, so the shards can move to a Redis
Cluster unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis

ADMIT = """
local tenant, rate, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local backlog_max, high_water, n = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local width = tonumber(ARGV[7])
local length = redis.call('XLEN', KEYS[1])
if length == 0 then redis.call('DEL', KEYS[2]) end
if length + n > high_water then return {'full', 0} end
local backlog = tonumber(redis.call('HGET', KEYS[2], tenant) or '0')
if backlog > 0 and backlog + n > backlog_max then
  local excess = backlog + n - backlog_max
  return {'throttled', math.max(1000, math.ceil(excess * 1000 / math.max(rate, 1)))}
end
local tat, now, cost = 0, 0, math.min(n, burst)
if rate > 0 then
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
  local interval = 1000 / rate
  tat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now) + cost * interval
  local over = tat - now - burst * interval
  if over > 0 then return {'throttled', math.ceil(over)} end
end
local ids = {}
for i = 0, n - 1 do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 8 + i * width, 7 + (i + 1) * width))
end
redis.call('HINCRBY', KEYS[2], tenant, n)
if rate > 0 then
  redis.call('SET', KEYS[3], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
end
return {'ok', ids}
"""

ACK = """
local group = ARGV[1]
for i = 2, #ARGV, 2 do
  redis.call('XACK', KEYS[1], group, ARGV[i])
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then
    if redis.call('HINCRBY', KEYS[2], ARGV[i + 1], -1) <= 0 then
      redis.call('HDEL', KEYS[2], ARGV[i + 1])
    end
  end
end
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return 1
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ADMIT decided: `ok` with the new entry ids, `throttled` with a wait, or `full`."""

    outcome: str
    entry_ids: list[str]
    retry_after_ms: int = 0


def read_verdict(reply: Any) -> Verdict:
    """ADMIT's reply as a Verdict."""
    outcome = _text(reply[0])
    if outcome == "ok":
        return Verdict("ok", [_text(i) for i in reply[1]])
    return Verdict(outcome, [], int(reply[1]))


@dataclass(frozen=True, slots=True)
class MemoryReading:
    stream_bytes: int
    used_memory: int
    maxmemory: int


class MemoryGauge:
    """Whether Redis has room for more stream entries, read at most every `RECHECK_SECONDS`.

    Refuses once the streams hold more than `max_bytes`, or once used_memory is within
    `headroom` (a fraction) of maxmemory: Redis runs `noeviction`, so the Celery broker and
    beat's lock, which live in the same Redis, must never be the writes that fail.
    """

    RECHECK_SECONDS = 1.0
    SAMPLES = 100  # listpack nodes MEMORY USAGE samples per stream (0 would read them all)

    def __init__(self, keys: list[str], max_bytes: int, headroom: float) -> None:
        self._keys = keys
        self._max_bytes = max_bytes
        self._headroom = headroom
        self._checked_at = float("-inf")
        self._problem: str | None = None

    def problem(self, client: redis.Redis | Any) -> str | None:
        """Why there is no room (a sentence), or None; a Redis error propagates."""
        now = time.monotonic()
        if now - self._checked_at >= self.RECHECK_SECONDS:
            self._problem = self._judge(self.read(client))
            self._checked_at = now
        return self._problem

    def read(self, client: redis.Redis | Any) -> MemoryReading:
        pipe = client.pipeline(transaction=False)
        pipe.info("memory")
        for key in self._keys:
            pipe.memory_usage(key, samples=self.SAMPLES)
        info, *usages = pipe.execute()
        return MemoryReading(
            stream_bytes=sum(int(u or 0) for u in usages),
            used_memory=int(info.get("used_memory", 0)),
            maxmemory=int(info.get("maxmemory", 0)),
        )

    def _judge(self, reading: MemoryReading) -> str | None:
        if reading.stream_bytes > self._max_bytes:
            return f"The streams hold over {self._max_bytes} bytes"
        if reading.maxmemory and reading.used_memory > reading.maxmemory * (1 - self._headroom):
            return "Redis is near its maxmemory"
        return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
