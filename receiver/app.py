"""Flask app that verifies Shopify webhooks and appends them to the event streams.

It answers 2xx only after Redis accepted the entry; everything else is a JSON 4xx/503.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from flask import Flask, Response, request
from sqlalchemy.exc import SQLAlchemyError

import resources
from core.crypto import SecretBoxError
from core.http import (
    install_error_handlers,
    install_ops_routes,
    install_security_headers,
    json_error,
)
from core.settings import Settings
from core.wire import Envelope, QueueFull, StreamWriter, Throttled
from models.db import get_engine
from receiver import metrics
from receiver.body import BadJson, BodyTimeout, cooperative, cut_off, parse_json, read_body
from receiver.headers import DeliveryHeaders, HeaderError, read_headers
from receiver.ingest import install_ingest_routes
from receiver.shop_secrets import ShopSecrets, utcnow
from receiver.signature import verify_signature

log = logging.getLogger(__name__)
# The shape of Shopify's topic names (orders/create, customer.tags_added), and of a path segment
# a topic group could be subscribed under.
_TOPIC = re.compile(r"[a-z][a-z0-9_./]{0,63}")
_TOPIC_PART = re.compile(r"[a-z][a-z0-9_]{0,63}")

RETRY_AFTER = "5"


class Rejected(Exception):
    """A delivery that gets an error answer; carries the HTTP status and error code."""

    def __init__(
        self, status: int, code: str, message: str, topic: str = "unknown", retry_after: int = 0
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.topic = status, code, message, topic
        self.retry_after = retry_after


def create_app(settings: Settings | None = None) -> Flask:
    """Build the receiver app (settings from the environment unless given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    client = _queue_client(settings.redis_url)
    writer = StreamWriter(client, settings)
    tenants = ShopSecrets(
        get_engine(settings.database_url), settings.secret_keys, settings.secret_cache_seconds
    )

    def accept(path: str | None) -> Response:
        started = time.perf_counter()
        topic_label = "unknown"
        try:
            envelope = _verified_envelope(settings, tenants, path)
            topic_label = envelope.topic
            writer.enqueue(envelope)
        except Rejected as exc:
            return _answer_rejection(exc, started)
        except Throttled as exc:
            # Shopify retries a 429 later, so a tenant over its share loses nothing.
            return _answer_rejection(
                Rejected(
                    429,
                    "rate_limited",
                    "This shop is over its share of the queue; retry later.",
                    topic_label,
                    exc.retry_after,
                ),
                started,
            )
        except QueueFull:
            return _answer_rejection(
                Rejected(
                    503,
                    "queue_full",
                    "The queue is over its high-water mark; retry later.",
                    topic_label,
                ),
                started,
            )
        except redis.RedisError:
            log.warning("queue unavailable", extra={"topic": topic_label})
            return _answer_rejection(
                Rejected(
                    503, "queue_unavailable", "The queue is unavailable; retry later.", topic_label
                ),
                started,
            )
        metrics.accepted(
            envelope.topic,
            envelope.api_version,
            time.perf_counter() - started,
            handled=envelope.topic in resources.TOPICS,
        )
        return _accepted(envelope.webhook_id)

    @app.post("/webhooks")
    def webhooks() -> Response:
        return accept(None)

    @app.post("/webhooks/<path>")
    def webhooks_for(path: str) -> Response:
        # A resource's path, or a topic group cartwheel does not handle yet (returns/...):
        # those deliveries are recorded, not refused.
        if path not in resources.RESOURCES and not _TOPIC_PART.fullmatch(path):
            return json_error(404, "not_found", f"No webhook endpoint for {path!r}.")
        return accept(path)

    def ready() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"redis unreachable: {exc.__class__.__name__}"
        return None

    install_ingest_routes(app, settings, writer, get_engine(settings.database_url))
    install_ops_routes(app, ready)
    install_security_headers(app, settings.hsts_seconds)
    install_error_handlers(app)
    return app


def _queue_client(url: str) -> redis.Redis:
    """The receiver's Redis client: one connection, opened now, or a pool under gevent.

    A sync gunicorn worker serves one request at a time, so one connection is all it needs, and
    without a pool in between a command is a third cheaper. Should Redis be down while the worker
    starts, a pooled client (which connects on first use) does instead. A gevent worker serves
    many requests at once, so it takes a pool. Each worker builds its own app after the fork
    (gunicorn without --preload), so no connection is shared.
    """
    options: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
    if cooperative():
        return redis.Redis.from_url(url, max_connections=64, **options)
    try:
        return redis.Redis.from_url(url, single_connection_client=True, **options)
    except redis.RedisError:
        return redis.Redis.from_url(url, **options)


def _verified_envelope(settings: Settings, tenants: ShopSecrets, path: str | None) -> Envelope:
    """Check size, headers, topic, shop and signature, in that order, before parsing the body."""
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise Rejected(
            413, "payload_too_large", f"Body over the {settings.max_body_bytes}-byte limit."
        )
    try:
        headers = read_headers(request.environ)
    except HeaderError as exc:
        raise Rejected(400, "bad_headers", str(exc)) from exc
    handled = headers.topic in resources.TOPICS
    # A topic cartwheel does not handle is still Shopify's: answered 200 and recorded once the
    # signature verifies (refusing it would make Shopify drop the subscription).
    if not handled and not _TOPIC.fullmatch(headers.topic):
        raise Rejected(400, "bad_topic", f"Topic {headers.topic[:64]!r} is not a Shopify topic.")
    if handled and path is not None and not resources.path_accepts(path, headers.topic):
        raise Rejected(
            400,
            "topic_mismatch",
            f"Topic {headers.topic!r} does not belong on /webhooks/{path}.",
            headers.topic,
        )
    # Read at most one byte past the limit: a chunked upload has no Content-Length to trust.
    try:
        body = read_body(settings.max_body_bytes, settings.body_read_seconds)
    except BodyTimeout as exc:
        cut_off()
        raise Rejected(
            408,
            "body_timeout",
            f"The body did not arrive within {settings.body_read_seconds:g} s.",
            headers.topic,
        ) from exc
    if len(body) > settings.max_body_bytes:
        raise Rejected(
            413,
            "payload_too_large",
            f"Body over the {settings.max_body_bytes}-byte limit.",
            headers.topic,
        )
    tenant_id = _authenticate(tenants, headers, body)
    try:
        payload = parse_json(body)
    except BadJson as exc:
        raise Rejected(400, "bad_json", "The body is not valid JSON.", headers.topic) from exc
    if not isinstance(payload, dict):
        raise Rejected(400, "bad_json", "The body is not a JSON object.", headers.topic)
    return Envelope(
        tenant_id=tenant_id,
        topic=headers.topic,
        webhook_id=headers.webhook_id,
        event_id=headers.event_id,
        triggered_at=headers.triggered_at,
        api_version=headers.api_version,
        received_at=datetime.now(UTC).isoformat(),
        body=body,
    )


def _authenticate(tenants: ShopSecrets, headers: DeliveryHeaders, body: bytes) -> str:
    """The tenant id when the shop is known and the body is signed with its secret."""
    try:
        keys = tenants.get(headers.shop_domain)
    except (SQLAlchemyError, SecretBoxError) as exc:
        log.error(
            "tenant lookup failed",
            extra={"shop": headers.shop_domain, "error": exc.__class__.__name__},
        )
        raise Rejected(
            503, "tenants_unavailable", "Tenant lookup failed; retry later.", headers.topic
        ) from exc
    # Unknown shop and bad signature get the same answer, so shops cannot be probed.
    if keys is None or not verify_signature(body, headers.hmac, keys.secrets(utcnow())):
        raise Rejected(
            401, "unauthorized", "Signature does not verify for this shop.", headers.topic
        )
    return keys.tenant_id


def _answer_rejection(exc: Rejected, started: float) -> Response:
    metrics.WEBHOOKS.labels(exc.topic, exc.code).inc()
    metrics.LATENCY.observe(time.perf_counter() - started)
    log.info(
        "webhook rejected",
        extra={
            "status": exc.status,
            "error": exc.code,
            "topic": exc.topic,
            "shop": request.headers.get("X-Shopify-Shop-Domain", "")[:255],
            "webhook_id": request.headers.get("X-Shopify-Webhook-Id", "")[:255],
        },
    )
    headers = None
    if exc.status == 503:
        headers = {"Retry-After": RETRY_AFTER}
    elif exc.status == 429:
        headers = {"Retry-After": str(exc.retry_after)}
    return json_error(exc.status, exc.code, exc.message, headers)


def _accepted(webhook_id: str) -> Response:
    # Built by hand: this answer is the hot path, and jsonify costs as much as the rest of it.
    body = b'{"status":"accepted","webhook_id":' + orjson.dumps(webhook_id) + b"}\n"
    return Response(body, status=200, mimetype="application/json")
