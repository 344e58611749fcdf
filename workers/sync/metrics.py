"""Prometheus metrics of backfills and reconciles (multiprocess-safe like workers.drain.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECONCILE_ROWS = Counter(
    "cartwheel_reconcile_rows_total",
    "Rows pulled by reconcile, by resource and finding (seen, missing, stale, written)",
    ["resource", "finding"],
)
RECONCILE_RUNS = Counter(
    "cartwheel_reconcile_runs_total", "Reconcile runs by how they ended", ["status"]
)
RECONCILE_SECONDS = Histogram(
    "cartwheel_reconcile_run_seconds",
    "Wall time of one reconcile run slice (until done or rescheduled)",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
BACKFILL_ROWS = Counter(
    "cartwheel_backfill_rows_total",
    "Rows applied by backfills, by resource and outcome (seen, written)",
    ["resource", "outcome"],
)
THROTTLE_WAIT = Counter(
    "cartwheel_shopify_throttle_wait_seconds_total",
    "Seconds spent waiting for the Admin API cost bucket to refill",
)
THROTTLED = Counter(
    "cartwheel_shopify_throttled_total", "THROTTLED answers from the Admin API (bucket shared)"
)
