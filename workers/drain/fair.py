"""Tenant-fair batches for the drain: a flood from one tenant cannot stand in front of the others.

The drain reads further ahead than it writes: up to `drain_fair_window` entries wait in memory
(the carry) besides the batch being written. Each batch is cut from the carry plus what was just
read so that every tenant in it gets an equal share of the batch (water-filling: a tenant with
fewer entries than its share gives the rest to the others), oldest entries first within a tenant.
A victim's entry read behind thousands of a flooding tenant's is therefore written in the next
batch, not after the flood.

The carried entries are this consumer's pending entries in Redis: they are acknowledged only
after the batch that writes them commits, so a crash loses nothing (another consumer reclaims
them), and the drain writes whatever it still carries before it returns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.wire import Delivery, StreamConsumer

if TYPE_CHECKING:
    from collections.abc import Callable

    from core.settings import Settings


def tenant_of(delivery: Delivery) -> bytes:
    """The raw tenant field of an entry (empty for an entry that is not an envelope)."""
    return delivery.fields.get(b"t", b"")


def fair_split(pool: list[Delivery], size: int) -> tuple[list[Delivery], list[Delivery]]:
    """`size` entries of `pool` shared equally among its tenants, and the rest; both in order."""
    if len(pool) <= size:
        return pool, []
    counts: dict[bytes, int] = {}
    for d in pool:
        key = tenant_of(d)
        counts[key] = counts.get(key, 0) + 1
    quota = _quotas(counts, size)
    chosen: list[Delivery] = []
    rest: list[Delivery] = []
    for d in pool:
        key = tenant_of(d)
        if quota[key] > 0:
            quota[key] -= 1
            chosen.append(d)
        else:
            rest.append(d)
    return chosen, rest


def _quotas(counts: dict[bytes, int], size: int) -> dict[bytes, int]:
    """Per tenant, how many of its entries go in a batch of `size` (water-filling).

    Tenants with leftover share go in order of their oldest entry (the dict's order)."""
    quota = dict.fromkeys(counts, 0)
    left = size
    active = [k for k in counts if counts[k] > 0]
    while left > 0 and active:
        share = max(1, left // len(active))
        still: list[bytes] = []
        for key in active:
            if left == 0:
                break
            take = min(share, counts[key] - quota[key], left)
            quota[key] += take
            left -= take
            if quota[key] < counts[key]:
                still.append(key)
        active = still
    return quota


class FairReader:
    """Reads ahead into a carry and hands out tenant-fair batches (one thread at a time)."""

    def __init__(
        self,
        consumer: StreamConsumer,
        settings: Settings,
        read: Callable[[StreamConsumer, int, int | None, bool], list[Delivery]],
    ) -> None:
        self._consumer = consumer
        self._size = settings.drain_batch_size
        self._window = settings.drain_fair_window
        self._block_ms = settings.drain_block_ms
        self._read = read
        self.carry: list[Delivery] = []

    def first(self) -> list[Delivery]:
        """The first batch of a drain: this consumer's own pending entries (all of them, a
        carry a previous drain of this process left included), else new ones."""
        own = self._read(self._consumer, self._size + self._window, None, True)
        if own:
            return self._cut(own)
        return self.next()

    def next(self, *, fresh: bool = True) -> list[Delivery]:
        """The next fair batch; fresh=False: from the carry only (the drain is stopping)."""
        got: list[Delivery] = []
        room = max(0, self._window - len(self.carry))
        if fresh and (room > 0 or not self.carry):
            per_shard = self._size + room // max(1, len(self._consumer.shards))
            block = None if self.carry else self._block_ms
            got = self._read(self._consumer, per_shard, block, False)
        return self._cut(got)

    def _cut(self, got: list[Delivery]) -> list[Delivery]:
        batch, self.carry = fair_split(self.carry + got, self._size)
        return batch
