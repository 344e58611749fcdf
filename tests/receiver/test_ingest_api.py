"""POST /ingest/<resource> on the receiver: dashboard-made API keys, items through the pipeline."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from core.settings import Settings
from models import Customer, Order, OrderLineItem, Product, ProductVariant, WebhookEvent
from models.db import session_scope
from receiver import create_app as create_receiver
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.services import free_port

Account = dict[str, Any]


def new_key(api_client: FlaskClient, account: Account, name: str = "sync") -> dict[str, Any]:
    response = api_client.post("/api/ingest-keys", json={"name": name}, headers=account["headers"])
    assert response.status_code == 201
    body: dict[str, Any] = response.get_json()
    return body


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def count(settings: Settings, model: Any, **where: Any) -> int:
    with session_scope(settings.database_url) as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return session.scalar(query) or 0


def customers(n: int, start: int = 1000) -> list[dict[str, Any]]:
    base = sample_json("customers_create")
    return [base | {"id": start + i, "email": f"c{start + i}@example.com"} for i in range(n)]


@pytest.fixture
def key(api_client: FlaskClient, owner: Account) -> str:
    return str(new_key(api_client, owner)["key"])


def test_ingested_items_become_rows(
    client: FlaskClient, key: str, owner: Account, settings: Settings
) -> None:
    order = sample_json("orders_create")
    batches = {
        "customers": customers(2),
        "products": [sample_json("products_create")],
        "orders": [order],
    }
    for resource, items in batches.items():
        response = client.post(f"/ingest/{resource}", json=items, headers=bearer(key))
        assert response.status_code == 202, response.get_json()
        assert response.get_json() == {"accepted": len(items), "rejected": 0, "errors": []}
    drain_all(settings)
    tenant = owner["tenant_id"]
    assert count(settings, Customer, tenant_id=tenant) == 3  # two, plus the order's customer
    assert count(settings, Product, tenant_id=tenant) == 1
    assert count(settings, ProductVariant, tenant_id=tenant) == 2
    assert count(settings, Order, tenant_id=tenant) == 1
    assert count(settings, OrderLineItem, tenant_id=tenant) == len(order["line_items"])
    with session_scope(settings.database_url) as session:
        topics = set(session.scalars(select(WebhookEvent.topic)))
        stored = session.scalar(select(Order.total_price))
    assert topics == {"customers/update", "products/update", "orders/updated"}
    assert stored == Decimal(order["total_price"])


def test_x_api_key_header_works(client: FlaskClient, key: str, settings: Settings) -> None:
    response = client.post("/ingest/customers", json=customers(1), headers={"X-Api-Key": key})
    assert response.status_code == 202
    drain_all(settings)
    assert count(settings, Customer) == 1


def test_invalid_items_are_reported_and_the_rest_is_queued(
    client: FlaskClient, key: str, settings: Settings
) -> None:
    items: list[Any] = [
        *customers(1),
        {"email": "no-id@example.com"},
        {"id": 1.5},
        "not an object",
        {"id": 42, "created_at": "yesterday"},
        *customers(1, start=2000),
    ]
    response = client.post("/ingest/customers", json=items, headers=bearer(key))
    assert response.status_code == 202
    body = response.get_json()
    assert body["accepted"] == 2 and body["rejected"] == 4
    assert [e["index"] for e in body["errors"]] == [1, 2, 3, 4]
    assert "id" in body["errors"][0]["messages"]
    assert "created_at" in body["errors"][3]["messages"]
    assert body["errors"][3]["id"] == 42
    drain_all(settings)
    assert count(settings, Customer) == 2


def test_nested_item_errors_are_json(client: FlaskClient, key: str) -> None:
    order = sample_json("orders_create")
    order["line_items"][1]["quantity"] = "three"
    response = client.post("/ingest/orders", json=[order], headers=bearer(key))
    assert response.status_code == 202
    messages = response.get_json()["errors"][0]["messages"]
    assert messages["line_items"]["1"]["quantity"]


def test_resending_a_batch_does_not_duplicate_events(
    client: FlaskClient, key: str, settings: Settings
) -> None:
    batch = customers(3)
    for _ in range(2):
        assert client.post("/ingest/customers", json=batch, headers=bearer(key)).status_code == 202
        drain_all(settings)
    assert count(settings, WebhookEvent) == 3
    assert count(settings, Customer) == 3


def test_a_later_version_wins(client: FlaskClient, key: str, settings: Settings) -> None:
    old, new = customers(1)[0], customers(1)[0]
    new |= {"email": "changed@example.com", "updated_at": "2030-01-01T00:00:00Z"}
    client.post("/ingest/customers", json=[new], headers=bearer(key))
    client.post("/ingest/customers", json=[old], headers=bearer(key))
    drain_all(settings)
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Customer.email)).all() == ["changed@example.com"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer cwk_not-a-real-key"},
        {"X-Api-Key": "cwk_not-a-real-key"},
        {"Authorization": "Basic Y3drXzE6Mg=="},
    ],
)
def test_bad_keys_get_401(client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post("/ingest/customers", json=customers(1), headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_a_dashboard_token_is_not_an_ingest_key(client: FlaskClient, owner: Account) -> None:
    response = client.post("/ingest/customers", json=customers(1), headers=owner["headers"])
    assert response.status_code == 401


def test_revoked_key_is_refused(
    api_client: FlaskClient, client: FlaskClient, owner: Account
) -> None:
    created = new_key(api_client, owner)
    ok = client.post("/ingest/customers", json=customers(1), headers=bearer(created["key"]))
    assert ok.status_code == 202
    api_client.delete(f"/api/ingest-keys/{created['id']}", headers=owner["headers"])
    # The test settings cache keys for 0 s; in production the cache bounds the delay.
    refused = client.post("/ingest/customers", json=customers(1), headers=bearer(created["key"]))
    assert refused.status_code == 401


def test_keys_write_to_their_own_tenant_only(
    api_client: FlaskClient,
    client: FlaskClient,
    make_owner: Any,
    settings: Settings,
) -> None:
    a, b = make_owner(), make_owner()
    client.post(
        "/ingest/customers", json=customers(2), headers=bearer(new_key(api_client, a)["key"])
    )
    client.post(
        "/ingest/customers", json=customers(1), headers=bearer(new_key(api_client, b)["key"])
    )
    drain_all(settings)
    assert count(settings, Customer, tenant_id=a["tenant_id"]) == 2
    assert count(settings, Customer, tenant_id=b["tenant_id"]) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "bad_json"),
        (b'{"id": 1}', "bad_json"),
        (b'"a string"', "bad_json"),
        (b"\xff\xfe", "bad_json"),
    ],
)
def test_bodies_that_are_not_arrays_get_400(
    client: FlaskClient, key: str, body: bytes, error: str
) -> None:
    response = client.post(
        "/ingest/customers", data=body, headers=bearer(key) | {"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == error


def test_empty_array_is_fine(client: FlaskClient, key: str) -> None:
    response = client.post("/ingest/products", json=[], headers=bearer(key))
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 0, "rejected": 0, "errors": []}


@pytest.mark.parametrize("resource", ["carts", "checkouts", "nothing", "webhooks"])
def test_unknown_resources_get_404(client: FlaskClient, key: str, resource: str) -> None:
    response = client.post(f"/ingest/{resource}", json=[], headers=bearer(key))
    assert response.status_code == 404


def test_oversized_bodies_get_413(settings: Settings, key: str) -> None:
    small = create_receiver(settings.with_overrides(max_body_bytes=2000)).test_client()
    body = json.dumps(customers(20)).encode()
    response = small.post(
        "/ingest/customers", data=body, headers=bearer(key) | {"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_too_many_items_get_413(client: FlaskClient, key: str) -> None:
    response = client.post("/ingest/customers", json=[{}] * 1001, headers=bearer(key))
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_many_items"


def test_queue_unavailable_gets_503(settings: Settings, key: str) -> None:
    down = settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    receiver = create_receiver(down).test_client()
    response = receiver.post("/ingest/customers", json=customers(2), headers=bearer(key))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Resending the whole batch is safe" in response.get_json()["message"]
