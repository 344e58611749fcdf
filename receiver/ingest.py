"""POST /ingest/<resource>: Shopify-shaped objects pushed with an API key, queued like webhooks.

Each valid item becomes one stream envelope, so it goes through the same drain, dedup and
last-writer-wins upsert as a webhook. The webhook id is derived from the item's bytes: a client
that resends a batch after a timeout does not create a second event for an item it already sent.

A batch is queued whole or not at all, and counts one item against the tenant's rate: a tenant
over its share gets 429 with Retry-After, and resending the same batch later is safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, Response, jsonify, request
from marshmallow import ValidationError
from prometheus_client import Counter
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

import resources
from core.http import json_error
from core.settings import Settings
from core.wire import Envelope, QueueFull, StreamWriter, Throttled
from receiver.api_keys import ApiKeyCache
from receiver.body import BadJson, BodyTimeout, cut_off, parse_json, read_body

log = logging.getLogger(__name__)

MAX_ITEMS = 1000
RETRY_AFTER = "5"

ITEMS = Counter(
    "cartwheel_ingest_items_total",
    "Items posted to /ingest, by resource and outcome",
    ["resource", "outcome"],
)


def presented_key() -> str | None:
    """The key from `Authorization: Bearer <key>` or `X-Api-Key`."""
    scheme, _, value = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (request.headers.get("X-Api-Key") or "").strip() or None


def validate_items(resource: str, items: list[Any]) -> tuple[list[bytes], list[dict[str, Any]]]:
    """The bodies of the valid items, and an error entry for each invalid one."""
    schema = resources.get(resource).schema
    bodies: list[bytes] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, "messages": {"_schema": ["Not a JSON object."]}})
            continue
        try:
            schema.load(item)
            body = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
        except ValidationError as exc:
            messages = _stringify(exc.messages)
            errors.append({"index": index, "id": _id_of(item), "messages": messages})
            continue
        except (RecursionError, UnicodeEncodeError, ValueError):
            # Nested too deeply, or a lone surrogate ("\ud800") that is no UTF-8 text.
            messages = {"_schema": ["Not representable as UTF-8 JSON of sane depth."]}
            errors.append({"index": index, "id": _id_of(item), "messages": messages})
            continue
        bodies.append(body)
    return bodies, errors


def _stringify(messages: Any) -> Any:
    # Errors inside lists are keyed by int index; JSON objects need string keys.
    if isinstance(messages, dict):
        return {str(key): _stringify(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_stringify(value) for value in messages]
    return messages


def _id_of(item: dict[str, Any]) -> Any:
    value = item.get("id")
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None


def envelope_for(tenant_id: str, resource: str, body: bytes, now: datetime) -> Envelope:
    """The stream envelope of one ingested item."""
    digest = hashlib.sha256(resource.encode() + b"\0" + body).hexdigest()[:48]
    stamp = now.isoformat()
    return Envelope(
        tenant_id=tenant_id,
        topic=str(resources.get(resource).ingest_topic),
        webhook_id=f"ingest-{digest}",
        event_id="",
        triggered_at=stamp,
        api_version="",
        received_at=stamp,
        body=body,
    )


def install_ingest_routes(
    app: Flask, settings: Settings, writer: StreamWriter, engine: Engine
) -> None:
    """Add POST /ingest/<resource> to the receiver app."""
    keys = ApiKeyCache(engine, settings.secret_cache_seconds)

    @app.post("/ingest/<resource>")
    def ingest(resource: str) -> Response:
        if resource not in resources.ingestible():
            return json_error(404, "not_found", f"No ingest endpoint for {resource!r}.")
        limit = settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return json_error(413, "payload_too_large", f"Body over the {limit}-byte limit.")
        key = presented_key()
        try:
            tenant_id = keys.tenant_for(key) if key else None
        except SQLAlchemyError as exc:
            log.error("api key lookup failed", extra={"error": exc.__class__.__name__})
            return json_error(
                503,
                "keys_unavailable",
                "Key lookup failed; retry later.",
                {"Retry-After": RETRY_AFTER},
            )
        if tenant_id is None:
            return json_error(
                401,
                "unauthorized",
                "A valid API key is required (Authorization: Bearer <key> or X-Api-Key).",
                {"WWW-Authenticate": 'Bearer realm="cartwheel-ingest"'},
            )
        return _accept(settings, writer, tenant_id, resource)


def _accept(settings: Settings, writer: StreamWriter, tenant_id: str, resource: str) -> Response:
    try:
        body = read_body(settings.max_body_bytes, settings.body_read_seconds)
    except BodyTimeout:
        cut_off()
        return json_error(
            408,
            "body_timeout",
            f"The body did not arrive within {settings.body_read_seconds:g} s.",
        )
    if len(body) > settings.max_body_bytes:
        return json_error(
            413, "payload_too_large", f"Body over the {settings.max_body_bytes}-byte limit."
        )
    try:
        items = parse_json(body)
    except BadJson:
        return json_error(400, "bad_json", "The body is not valid JSON.")
    if not isinstance(items, list):
        return json_error(400, "bad_json", "The body must be a JSON array of objects.")
    if len(items) > MAX_ITEMS:
        return json_error(413, "too_many_items", f"At most {MAX_ITEMS} items per request.")
    bodies, errors = validate_items(resource, items)
    now = datetime.now(UTC)
    try:
        writer.enqueue_many([envelope_for(tenant_id, resource, b, now) for b in bodies])
    except Throttled as exc:
        log.info("ingest throttled", extra={"tenant": tenant_id, "items": len(bodies)})
        ITEMS.labels(resource, "throttled").inc(len(bodies))
        return json_error(
            429,
            "rate_limited",
            "This tenant is over its share of the queue; nothing was queued. "
            "Resend the batch after Retry-After seconds.",
            {"Retry-After": str(exc.retry_after)},
        )
    except (QueueFull, redis.RedisError) as exc:
        log.warning(
            "ingest queue unavailable",
            extra={"tenant": tenant_id, "error": exc.__class__.__name__},
        )
        return json_error(
            503,
            "queue_unavailable",
            "The queue is unavailable; nothing was queued. Resending the whole batch is safe.",
            {"Retry-After": RETRY_AFTER},
        )
    queued = len(bodies)
    ITEMS.labels(resource, "queued").inc(queued)
    ITEMS.labels(resource, "rejected").inc(len(errors))
    log.info(
        "ingest accepted",
        extra={
            "tenant": tenant_id,
            "resource": resource,
            "queued": queued,
            "rejected": len(errors),
        },
    )
    response = jsonify(accepted=queued, rejected=len(errors), errors=errors)
    response.status_code = 202
    return response
