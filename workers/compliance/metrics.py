"""Prometheus metrics of the compliance job (multiprocess-safe like the drain's)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

ACTIONS = Counter(
    "cartwheel_compliance_actions_total",
    "Compliance and app webhooks acted on by topic and outcome (done, rejected, held, error, dead)",
    ["topic", "outcome"],
)
ACTION_SECONDS = Histogram(
    "cartwheel_compliance_action_seconds",
    "Time to act on one compliance or app webhook",
    ["topic"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
