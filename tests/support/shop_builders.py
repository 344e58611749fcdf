"""Shopify-shaped payloads for the dashboard tests, delivered through the real pipeline."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from core.settings import Settings
from tests.support.pipeline import drain_all
from tests.support.webhooks import Sender

# Past 2**53: a JavaScript number would lose the last digits.
BIG = 9_007_199_254_740_993


def customer(
    id: int,
    *,
    email: str | None = None,
    first: str = "Ada",
    last: str = "Lovelace",
    created_at: str = "2026-01-01T10:00:00Z",
    updated_at: str | None = None,
) -> dict[str, Any]:
    return {
        "id": id,
        "email": email or f"c{id}@example.com",
        "first_name": first,
        "last_name": last,
        "state": "enabled",
        "currency": "EUR",
        "created_at": created_at,
        "updated_at": updated_at or created_at,
    }


def order(
    id: int,
    *,
    total: str = "10.00",
    at: str = "2026-01-10T12:00:00Z",
    customer_id: int | None = None,
    updated_at: str | None = None,
    processed_at: str | None = "",
    cancelled_at: str | None = None,
    refunded: Iterable[str] = (),
    test: bool = False,
    financial_status: str = "paid",
    fulfillment_status: str | None = None,
    checkout_token: str | None = None,
    cart_token: str | None = None,
) -> dict[str, Any]:
    """An order as orders/create sends it; `processed_at` defaults to `at`, None leaves it out."""
    payload: dict[str, Any] = {
        "id": id,
        "name": f"#{id % 100000}",
        "order_number": id % 100000,
        "email": f"c{customer_id}@example.com" if customer_id else None,
        "currency": "EUR",
        "presentment_currency": "EUR",
        "total_price": total,
        "subtotal_price": total,
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "current_total_price": total,
        "financial_status": financial_status,
        "fulfillment_status": fulfillment_status,
        "test": test,
        "created_at": at,
        "updated_at": updated_at or at,
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "checkout_token": checkout_token,
        "cart_token": cart_token,
        "source_name": "web",
        "line_items": [
            {
                "id": id * 10 + 1,
                "product_id": 7001,
                "variant_id": 8001,
                "sku": "TEE-S",
                "title": "Tee",
                "quantity": 1,
                "current_quantity": 1,
                "price": total,
            }
        ],
        "refunds": [
            {
                "id": id * 1000 + n,
                "order_id": id,
                "created_at": updated_at or at,
                "processed_at": updated_at or at,
                "transactions": [
                    {"id": id * 1000 + n, "kind": "refund", "status": "success", "amount": amount}
                ],
            }
            for n, amount in enumerate(refunded, start=1)
        ],
        "customer": {"id": customer_id, "email": f"c{customer_id}@example.com"}
        if customer_id
        else None,
    }
    if processed_at is not None:
        payload["processed_at"] = processed_at or at
    return payload


def checkout(
    token: str,
    *,
    total: str = "30.00",
    at: str = "2026-01-10T12:00:00Z",
    cart_token: str | None = None,
    customer_id: int | None = None,
) -> dict[str, Any]:
    return {
        "token": token,
        "id": zlib.crc32(token.encode()) + 1,
        "cart_token": cart_token,
        "email": "buyer@example.com",
        "currency": "EUR",
        "total_price": total,
        "subtotal_price": total,
        "created_at": at,
        "updated_at": at,
        "completed_at": None,
        "customer": {"id": customer_id} if customer_id else None,
    }


def cart(
    token: str, *, at: str = "2026-01-10T12:00:00Z", lines: Iterable[str] = ("19.99",)
) -> dict[str, Any]:
    return {
        "id": token,
        "token": token,
        "created_at": at,
        "updated_at": at,
        "line_items": [{"quantity": 1, "line_price": price} for price in lines],
    }


def product(
    id: int,
    *,
    title: str = "Tee",
    vendor: str = "Acme",
    product_type: str = "Shirts",
    status: str = "active",
    at: str = "2026-01-05T10:00:00Z",
    prices: Iterable[str] = ("19.99",),
) -> dict[str, Any]:
    return {
        "id": id,
        "title": title,
        "handle": title.lower().replace(" ", "-"),
        "vendor": vendor,
        "product_type": product_type,
        "status": status,
        "created_at": at,
        "updated_at": at,
        "published_at": at,
        "variants": [
            {"id": id * 10 + n, "title": f"V{n}", "sku": f"SKU-{id}-{n}", "price": price}
            for n, price in enumerate(prices)
        ],
    }


def deliver(sender: Sender, settings: Settings, *events: tuple[str, dict[str, Any]]) -> None:
    """Send each (topic, payload) as a signed webhook, then drain the streams into the tables."""
    for topic, payload in events:
        response = sender.send(topic, payload)
        assert response.status_code == 200, response.get_json()
    drain_all(settings)
