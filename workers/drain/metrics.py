"""Prometheus metrics of the workers (multiprocess-safe when PROMETHEUS_MULTIPROC_DIR is set)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter(
    "cartwheel_events_total",
    "Deliveries processed by the drains, by resource and outcome",
    ["resource", "outcome"],
)
DUPLICATES = Counter("cartwheel_duplicates_total", "Deliveries already in the event log")
STALE = Counter("cartwheel_stale_updates_total", "Updates older than the stored version, skipped")
DEAD_LETTERS = Counter("cartwheel_dead_letters_total", "Deliveries moved to the dead letters")
DROPPED = Counter(
    "cartwheel_dropped_total", "Entries that were not envelopes, or whose tenant was erased"
)
RECLAIMED = Counter("cartwheel_reclaimed_total", "Entries taken over from a dead consumer")
BATCH_SIZE = Histogram(
    "cartwheel_drain_batch_size",
    "Deliveries per drain batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000),
)
BATCH_SECONDS = Histogram(
    "cartwheel_drain_batch_seconds",
    "Time to write and acknowledge one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
