"""Prometheus metrics of the receiver."""

from __future__ import annotations

from datetime import date
from typing import Any

from prometheus_client import Counter, Histogram

from core import api_versions

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

API_VERSIONS = Counter(
    "cartwheel_webhook_api_versions_total",
    "Accepted deliveries by the API version Shopify sent them in; supported=false: a version "
    "Shopify no longer supports (the subscription is about to fall forward)",
    ["api_version", "supported"],
)

_accepted: dict[str, Any] = {}
_versions: dict[tuple[str, date], Any] = {}


def accepted(topic: str, api_version: str, seconds: float, *, handled: bool = True) -> None:
    """Count one accepted delivery (label children are looked up once per topic and version).

    A topic cartwheel does not handle counts with outcome `unhandled`."""
    counter = _accepted.get(topic) if handled else None
    if counter is None:
        counter = WEBHOOKS.labels(topic, "accepted" if handled else "unhandled")
        if handled:
            _accepted[topic] = counter
    counter.inc()
    today = date.today()
    version = _versions.get((api_version, today))
    if version is None:
        supported = api_versions.is_supported(api_version, today)
        version = _versions[(api_version, today)] = API_VERSIONS.labels(
            api_versions.label(api_version),
            "unknown" if supported is None else str(supported).lower(),
        )
    version.inc()
    LATENCY.observe(seconds)
