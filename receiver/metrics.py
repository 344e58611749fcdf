"""Prometheus metrics of the receiver."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

WEBHOOKS = Counter(
    "cartwheel_webhooks_total",
    "Webhook deliveries answered by the receiver, by topic and outcome",
    ["topic", "outcome"],
)
LATENCY = Histogram(
    "cartwheel_receiver_seconds",
    "Time to answer a webhook delivery",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)

_accepted: dict[str, Any] = {}


def accepted(topic: str, seconds: float) -> None:
    """Count one accepted delivery (the label children are looked up once per topic)."""
    counter = _accepted.get(topic)
    if counter is None:
        counter = _accepted[topic] = WEBHOOKS.labels(topic, "accepted")
    counter.inc()
    LATENCY.observe(seconds)
