"""Read Shopify's delivery headers in any case, with the X-Shopify- or Shopify- prefix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

REQUIRED = ("Topic", "Hmac-Sha256", "Shop-Domain", "Webhook-Id")
_MAX_HEADER = 255


class HeaderSource(Protocol):
    def get(self, key: str) -> str | None: ...


class HeaderError(ValueError):
    """A required header is missing or unusable."""


@dataclass(frozen=True, slots=True)
class DeliveryHeaders:
    topic: str
    hmac: str
    shop_domain: str
    webhook_id: str
    event_id: str
    triggered_at: str
    api_version: str


def _get(headers: HeaderSource, name: str) -> str:
    # Werkzeug's Headers are case-insensitive already; both prefixes are Shopify's.
    value = headers.get(f"X-Shopify-{name}") or headers.get(f"Shopify-{name}") or ""
    return value.strip()


def read_headers(headers: HeaderSource) -> DeliveryHeaders:
    """Parse the delivery headers; raises HeaderError naming what is missing or too long."""
    values = {
        name: _get(headers, name) for name in (*REQUIRED, "Event-Id", "Triggered-At", "API-Version")
    }
    missing = [f"X-Shopify-{n}" for n in REQUIRED if not values[n]]
    if missing:
        raise HeaderError(f"missing header(s): {', '.join(missing)}")
    too_long = [f"X-Shopify-{n}" for n, v in values.items() if len(v) > _MAX_HEADER]
    if too_long:
        raise HeaderError(f"header(s) too long: {', '.join(too_long)}")
    return DeliveryHeaders(
        topic=values["Topic"].lower(),
        hmac=values["Hmac-Sha256"],
        shop_domain=values["Shop-Domain"].lower(),
        webhook_id=values["Webhook-Id"],
        event_id=values["Event-Id"],
        triggered_at=values["Triggered-At"],
        api_version=values["API-Version"],
    )
