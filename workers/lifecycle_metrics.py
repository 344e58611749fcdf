"""Prometheus metrics of the scheduled jobs: sweeps, compliance actions, retention."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOB_RUNS = Counter(
    "cartwheel_job_runs_total",
    "Scheduled job runs, by job and outcome (ran, or duplicate: its time slot already ran)",
    ["job", "outcome"],
)
SWEEP_ROWS = Counter(
    "cartwheel_sweep_rows_total",
    "Rows a sweep changed, by sweep (checkouts or carts abandoned, payloads purged)",
    ["sweep"],
)
SWEEP_SECONDS = Histogram(
    "cartwheel_sweep_seconds",
    "Duration of one sweep run over every tenant",
    ["sweep"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SWEEP_BATCH_SECONDS = Histogram(
    "cartwheel_sweep_batch_seconds",
    "Duration of one sweep batch (one transaction over a group of tenants)",
    ["sweep"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
LIFECYCLE_ACTIONS = Counter(
    "cartwheel_lifecycle_actions_total",
    "Lifecycle and compliance webhooks acted on, by topic and outcome (done, rejected, error)",
    ["topic", "outcome"],
)
LIFECYCLE_SECONDS = Histogram(
    "cartwheel_lifecycle_action_seconds",
    "Time to act on one lifecycle or compliance webhook",
    ["topic"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
