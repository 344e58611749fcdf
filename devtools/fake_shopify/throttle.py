"""Shopify's leaky bucket for GraphQL cost, per shop, with a log of every request it judged."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_SINGLE_QUERY_COST = 1000


@dataclass(frozen=True)
class BucketEntry:
    """What the bucket held when a request arrived, and what happened to it."""

    at: float
    available: float
    requested: int
    actual: int | None
    throttled: bool


class LeakyBucket:
    """Requested cost is reserved up front; the unused part is refunded after execution."""

    def __init__(
        self, maximum: int, restore_rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._clock = clock
        self._level = float(maximum)
        self._at = clock()
        self._lock = threading.Lock()
        self.log: list[BucketEntry] = []

    def _refill(self) -> float:
        now = self._clock()
        self._level = min(self.maximum, self._level + (now - self._at) * self.restore_rate)
        self._at = now
        return now

    def reserve(self, requested: int) -> float | None:
        """Take `requested` points if the bucket holds them and return the level before.

        None means THROTTLED: nothing was taken.
        """
        with self._lock:
            now = self._refill()
            before = self._level
            if requested > before:
                self.log.append(BucketEntry(now, before, requested, None, True))
                return None
            self._level -= requested
            return before

    def settle(self, requested: int, actual: int, available_before: float) -> None:
        """Refund what the query did not use and record the request."""
        with self._lock:
            now = self._refill()
            self._level = min(self.maximum, self._level + (requested - actual))
            self.log.append(BucketEntry(now, available_before, requested, actual, False))

    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._level

    def drain(self, points: float) -> None:
        """Spend points as another client of the same app and shop would."""
        with self._lock:
            self._refill()
            self._level = max(0.0, self._level - points)

    def status(self) -> dict[str, Any]:
        """The throttleStatus object of `extensions.cost`."""
        return {
            "maximumAvailable": float(self.maximum),
            "currentlyAvailable": int(self.available()),
            "restoreRate": float(self.restore_rate),
        }
