"""Shopify-shaped checkouts, carts, orders and customers at chosen times, for lifecycle tests."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.settings import Settings
from models import Tenant
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.webhooks import Sender

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def checkout(
    token: str,
    *,
    at: datetime,
    updated: datetime | None = None,
    cart_token: str | None = None,
    completed: datetime | None = None,
    customer: dict[str, Any] | None = None,
    email: str | None = None,
    shopify_id: int | None = None,
) -> dict[str, Any]:
    body = copy.deepcopy(sample_json("checkouts_create"))
    body.update(
        token=token,
        cart_token=cart_token,
        created_at=iso(at),
        updated_at=iso(updated or at),
        completed_at=iso(completed),
        email=email,
        customer=customer,
    )
    if shopify_id:
        body["id"] = shopify_id
    return body


def cart(token: str, *, at: datetime, updated: datetime | None = None) -> dict[str, Any]:
    body = copy.deepcopy(sample_json("carts_create"))
    body.update(id=token, token=token, created_at=iso(at), updated_at=iso(updated or at))
    return body


def order(
    shopify_id: int,
    *,
    at: datetime,
    checkout_token: str | None = None,
    cart_token: str | None = None,
    customer: dict[str, Any] | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    body = copy.deepcopy(sample_json("orders_create"))
    body.update(
        id=shopify_id,
        created_at=iso(at),
        processed_at=iso(at),
        updated_at=iso(at),
        checkout_token=checkout_token,
        cart_token=cart_token,
        customer=customer,
        email=email,
        contact_email=email,
        cancelled_at=None,
        cancel_reason=None,
        financial_status="paid",
    )
    for i, line in enumerate(body["line_items"]):
        line["id"] = shopify_id * 100 + i  # line item ids are unique per shop
    return body


def customer(
    shopify_id: int, *, email: str, first: str, last: str, phone: str, at: datetime = T0
) -> dict[str, Any]:
    body = copy.deepcopy(sample_json("customers_create"))
    body.update(
        id=shopify_id,
        email=email,
        first_name=first,
        last_name=last,
        phone=phone,
        created_at=iso(at),
        updated_at=iso(at),
        note=f"{first} likes tea",
    )
    body["default_address"].update(
        first_name=first, last_name=last, name=f"{first} {last}", phone=phone
    )
    body["addresses"] = [body["default_address"]]
    return body


def compliance_body(name: str, shop: str, **changes: Any) -> dict[str, Any]:
    """One of Shopify's compliance samples, addressed to `shop`."""
    body = json.loads(json.dumps(sample_json(name)).replace("{shop}.myshopify.com", shop))
    body.update(changes)
    return body


def send(sender: Sender, settings: Settings, *deliveries: tuple[str, dict[str, Any]]) -> None:
    """Post deliveries through the receiver and drain them into the tables."""
    for topic, body in deliveries:
        response = sender.send(topic, body, webhook_id=str(uuid.uuid4()))
        assert response.status_code == 200, response.get_json()
    drain_all(settings)


def sender_for(client: FlaskClient, tenant: dict[str, Any]) -> Sender:
    return Sender(client, shop=tenant["shop"], secret=tenant["secret"])


def set_tenant(settings: Settings, tenant_id: uuid.UUID, **values: Any) -> None:
    with session_scope(settings.database_url) as s:
        s.execute(update(Tenant).where(Tenant.id == tenant_id).values(**values))


def tenant_status(settings: Settings, tenant_id: uuid.UUID) -> str | None:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(Tenant.status).where(Tenant.id == tenant_id))
