"""Read Shopify's delivery headers in any case, with the X-Shopify- or Shopify- prefix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REQUIRED = ("Topic", "Hmac-Sha256", "Shop-Domain", "Webhook-Id")
OPTIONAL = ("Event-Id", "Triggered-At", "API-Version")
_MAX_HEADER = 255


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


def _keys(name: str) -> tuple[str, str]:
    # The WSGI environ keys of a header: upper case, dashes as underscores, so any case matches.
    key = name.upper().replace("-", "_")
    return f"HTTP_X_SHOPIFY_{key}", f"HTTP_SHOPIFY_{key}"


_ENVIRON_KEYS = {name: _keys(name) for name in (*REQUIRED, *OPTIONAL)}


def read_headers(environ: Mapping[str, Any]) -> DeliveryHeaders:
    """Parse the delivery headers of a WSGI request; raises HeaderError naming what is wrong."""
    values = {
        name: (environ.get(prefixed) or environ.get(bare) or "").strip()
        for name, (prefixed, bare) in _ENVIRON_KEYS.items()
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
