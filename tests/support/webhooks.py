"""Build and send signed webhook deliveries the way Shopify does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from receiver.signature import sign


def shopify_headers(
    topic: str, body: bytes, *, shop: str, secret: str, webhook_id: str | None = None, **extra: str
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "X-Shopify-API-Version": "2026-07",
    }
    headers.update(extra)
    return headers


class Sender:
    """Posts signed deliveries for one shop to a receiver test client."""

    def __init__(self, client: FlaskClient, *, shop: str, secret: str) -> None:
        self.client, self.shop, self.secret = client, shop, secret

    def send(
        self,
        topic: str,
        payload: dict[str, Any] | bytes,
        *,
        path: str = "/webhooks",
        webhook_id: str | None = None,
        **extra: str,
    ) -> TestResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = shopify_headers(
            topic, body, shop=self.shop, secret=self.secret, webhook_id=webhook_id, **extra
        )
        return self.client.post(path, data=body, headers=headers)
