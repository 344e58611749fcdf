"""The receiver contract: status codes, JSON error bodies, and that rejects store nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from core.settings import Settings
from core.wire import stream_keys
from resources import TOPICS
from tests.support.samples import sample_body
from tests.support.webhooks import Sender, shopify_headers


def stream_length(client: redis.Redis, settings: Settings) -> int:
    return sum(client.xlen(k) for k in stream_keys(settings))


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_topic_is_accepted_and_queued(
    topic: str, sender: Sender, redis_client: redis.Redis, settings: Settings
) -> None:
    response = sender.send(topic, {"id": 1})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"
    assert stream_length(redis_client, settings) == 1


@pytest.mark.parametrize(
    ("resource", "topic"),
    [
        ("customers", "customers/create"),
        ("products", "products/update"),
        ("orders", "orders/paid"),
        ("carts", "carts/create"),
        ("checkouts", "checkouts/delete"),
        ("customers", "customers/redact"),
        ("customers", "customers/data_request"),
    ],
)
def test_resource_paths_take_their_topics(resource: str, topic: str, sender: Sender) -> None:
    assert sender.send(topic, {"id": 1}, path=f"/webhooks/{resource}").status_code == 200


def test_header_names_in_any_case_and_unprefixed(
    client: FlaskClient, tenant: dict[str, Any], redis_client: redis.Redis, settings: Settings
) -> None:
    body = sample_body("customers_create")
    base = shopify_headers("customers/create", body, shop=tenant["shop"], secret=tenant["secret"])
    lower = {k.lower(): v for k, v in base.items()}
    assert client.post("/webhooks", data=body, headers=lower).status_code == 200
    bare = {k.replace("X-Shopify-", "Shopify-"): v for k, v in base.items()}
    bare["Shopify-Webhook-Id"] = str(uuid.uuid4())
    assert client.post("/webhooks", data=body, headers=bare).status_code == 200
    assert stream_length(redis_client, settings) == 2


REQUIRED = [
    "X-Shopify-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Shop-Domain",
    "X-Shopify-Webhook-Id",
]


@pytest.mark.parametrize("missing", REQUIRED)
def test_each_missing_header_is_400(
    missing: str,
    client: FlaskClient,
    tenant: dict[str, Any],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    body = sample_body("orders_create")
    headers = shopify_headers("orders/create", body, shop=tenant["shop"], secret=tenant["secret"])
    del headers[missing]
    response = client.post("/webhooks", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json["error"] == "bad_headers"
    assert missing in response.json["message"]
    assert stream_length(redis_client, settings) == 0


def _post(
    client: FlaskClient, body: bytes, headers: dict[str, str], path: str = "/webhooks"
) -> Any:
    return client.post(path, data=body, headers=headers)


def _case_wrong_secret(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    return (
        body,
        shopify_headers("orders/create", body, shop=t["shop"], secret="not-the-secret"),
        "/webhooks",
    )


def _case_tampered(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    headers = shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"])
    return body.replace(b"404.95", b"0.01"), headers, "/webhooks"


def _case_reserialized(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    headers = shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"])
    return json.dumps(json.loads(body), separators=(",", ":")).encode(), headers, "/webhooks"


def _case_unknown_shop(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    return (
        body,
        shopify_headers("orders/create", body, shop="nobody.myshopify.com", secret=t["secret"]),
        "/webhooks",
    )


def _case_not_json(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = b"foo=anything"
    return (
        body,
        shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"]),
        "/webhooks",
    )


def _case_json_array(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = b'[{"id": 1}]'
    return (
        body,
        shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"]),
        "/webhooks",
    )


def _case_not_utf8(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = b'{"id": "\xff\xfe"}'
    return (
        body,
        shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"]),
        "/webhooks",
    )


def _case_malformed_topic(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    # A topic of any name is recorded (tests/workers/drain/test_money_topics.py); one that no
    # Shopify topic could be is refused.
    body = b'{"id": 1}'
    return (
        body,
        shopify_headers("Orders/Create; DROP", body, shop=t["shop"], secret=t["secret"]),
        "/webhooks",
    )


def _case_path_mismatch(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    return (
        body,
        shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"]),
        "/webhooks/products",
    )


def _case_bad_base64(t: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    body = sample_body("orders_create")
    headers = shopify_headers("orders/create", body, shop=t["shop"], secret=t["secret"])
    headers["X-Shopify-Hmac-Sha256"] = "%%%not-base64%%%"
    return body, headers, "/webhooks"


BAD_INPUT = {
    "wrong_secret": (_case_wrong_secret, 401, "unauthorized"),
    "tampered_body": (_case_tampered, 401, "unauthorized"),
    "reserialized_body": (_case_reserialized, 401, "unauthorized"),
    "unknown_shop": (_case_unknown_shop, 401, "unauthorized"),
    "bad_base64_signature": (_case_bad_base64, 401, "unauthorized"),
    "not_json": (_case_not_json, 400, "bad_json"),
    "json_not_object": (_case_json_array, 400, "bad_json"),
    "not_utf8": (_case_not_utf8, 400, "bad_json"),
    "malformed_topic": (_case_malformed_topic, 400, "bad_topic"),
    "path_topic_mismatch": (_case_path_mismatch, 400, "topic_mismatch"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_rejected_and_stores_nothing(
    case: str,
    client: FlaskClient,
    tenant: dict[str, Any],
    redis_client: redis.Redis,
    settings: Settings,
) -> None:
    build, status, code = BAD_INPUT[case]
    body, headers, path = build(tenant)
    response = _post(client, body, headers, path)
    assert response.status_code == status
    assert response.json == {"error": code, "message": response.json["message"]}
    assert response.json["message"]
    assert stream_length(redis_client, settings) == 0


def test_unknown_shop_and_bad_signature_answer_alike(
    client: FlaskClient, tenant: dict[str, Any]
) -> None:
    unknown = _post(client, *_case_unknown_shop(tenant)[:2])
    wrong = _post(client, *_case_wrong_secret(tenant)[:2])
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json == wrong.json


def test_oversized_body_is_413_before_anything_else(
    database_url: str,
    redis_url: str,
    secret_keys: str,
    tenant: dict[str, Any],
    redis_client: redis.Redis,
) -> None:
    from receiver import create_app

    small = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=secret_keys,
        max_body_bytes=1024,
        namespace=f"cwtest-{uuid.uuid4().hex[:8]}",
    )
    client = create_app(small).test_client()
    body = json.dumps({"id": 1, "pad": "x" * 2000}).encode()
    response = client.post(
        "/webhooks",
        data=body,
        headers=shopify_headers(
            "orders/create", body, shop=tenant["shop"], secret=tenant["secret"]
        ),
    )
    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"
    assert sum(redis_client.xlen(k) for k in stream_keys(small)) == 0
    # The limit holds without a Content-Length too (chunked uploads).
    import io

    response = client.post(
        "/webhooks",
        input_stream=io.BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True},
        headers={
            **shopify_headers("orders/create", body, shop=tenant["shop"], secret=tenant["secret"]),
            "Transfer-Encoding": "chunked",
        },
    )
    assert response.status_code == 413
    assert sum(redis_client.xlen(k) for k in stream_keys(small)) == 0


def test_a_path_no_topic_could_have_is_404_json(sender: Sender) -> None:
    response = sender.send("orders/create", {"id": 1}, path="/webhooks/9-Refunds")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"


def test_a_topic_group_not_handled_yet_is_recorded_on_its_own_path(
    sender: Sender, redis_client: redis.Redis, settings: Settings
) -> None:
    response = sender.send("returns/approve", {"id": 1}, path="/webhooks/returns")
    assert response.status_code == 200
    assert sum(redis_client.xlen(k) for k in stream_keys(settings)) == 1


def test_a_handled_topic_on_another_resources_path_is_refused(sender: Sender) -> None:
    response = sender.send("orders/create", {"id": 1}, path="/webhooks/refunds")
    assert response.status_code == 400
    assert response.json["error"] == "topic_mismatch"


def test_wrong_method_is_json_405(client: FlaskClient) -> None:
    response = client.get("/webhooks")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_redis_down_answers_503_with_retry_after(
    database_url: str, secret_keys: str, tenant: dict[str, Any]
) -> None:
    from receiver import create_app
    from tests.support.services import free_port

    dead = Settings(
        database_url=database_url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        secret_keys=secret_keys,
    )
    client = create_app(dead).test_client()
    body = sample_body("orders_create")
    response = client.post(
        "/webhooks",
        data=body,
        headers=shopify_headers(
            "orders/create", body, shop=tenant["shop"], secret=tenant["secret"]
        ),
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["error"] == "queue_unavailable"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_over_high_water_mark_answers_503(
    database_url: str,
    redis_url: str,
    secret_keys: str,
    tenant: dict[str, Any],
    redis_client: redis.Redis,
) -> None:
    from receiver import create_app

    tight = Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=secret_keys,
        queue_high_water=2,
        stream_shards=1,
        namespace=f"cwtest-{uuid.uuid4().hex[:8]}",
    )
    s = Sender(create_app(tight).test_client(), shop=tenant["shop"], secret=tenant["secret"])
    assert [s.send("orders/create", {"id": i}).status_code for i in (1, 2, 3)] == [200, 200, 503]
    assert redis_client.xlen(stream_keys(tight)[0]) == 2
    redis_client.delete(*stream_keys(tight))


def test_ops_endpoints(client: FlaskClient, sender: Sender) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}
    sender.send("orders/create", {"id": 1})
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'cartwheel_webhooks_total{outcome="accepted",topic="orders/create"}' in metrics
    assert "cartwheel_receiver_seconds_bucket" in metrics
