"""The dashboard API's errors: one JSON shape for every status, documented in the OpenAPI spec."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import redis
from flask import Flask, Response, jsonify
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from core.wire import QueueFull, Throttled

log = logging.getLogger(__name__)

RETRY_AFTER_UNAVAILABLE = "5"


class ErrorSchema(ma.Schema):
    """{"error": code, "message": text}, plus per-field messages for invalid input."""

    error = ma.fields.String(required=True, metadata={"description": "Machine-readable code"})
    message = ma.fields.String(required=True, metadata={"description": "Human-readable text"})
    # Not named `fields`: that attribute is the Schema's own field registry.
    field_messages = ma.fields.Dict(
        data_key="fields", metadata={"description": "Per-field messages (invalid input only)"}
    )


class ApiError(Exception):
    """An error answer: status, code, message, optional headers and per-field messages."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.headers = dict(headers or {})
        self.fields = fields


class Invalid(ApiError):
    status, code = 400, "invalid_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


def queue_refusal(exc: QueueFull) -> ApiError:
    """A replay the event streams refused: 429 past the tenant's share, 503 when they are full."""
    if isinstance(exc, Throttled):
        return ApiError(
            "This shop is over its share of the event queue; retry later.",
            code="throttled",
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    return ApiError(
        "The event queue is full; retry later.",
        code="queue_full",
        status=503,
        headers={"Retry-After": RETRY_AFTER_UNAVAILABLE},
    )


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Response:
    """The one error shape, with the right status and headers."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any) -> dict[str, Any]:
    """webargs nests messages by location ({"json": {...}}); clients want them by field."""
    if not isinstance(messages, Mapping):
        return {"_request": messages}
    flat: dict[str, Any] = {}
    for location, inner in messages.items():
        if isinstance(inner, Mapping):
            flat.update(inner)
        else:
            flat[location] = inner
    return flat


def _from_http(exc: HTTPException) -> Response:
    data = getattr(exc, "data", None) or {}
    status = exc.code or 500
    messages = data.get("messages") or data.get("errors")
    if messages and status in (400, 422):
        # flask-smorest's default is 422; this API answers every invalid input with 400.
        return error_response(
            400, "invalid_request", "The request is invalid.", fields=flatten_messages(messages)
        )
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    code = data.get("error") or (exc.name or "error").lower().replace(" ", "_")
    return error_response(status, code, data.get("message") or exc.description or "", headers)


def install_error_handlers(app: Flask) -> None:
    """Every error answers in the JSON shape; lost dependencies answer 503, never 500."""
    app.register_error_handler(HTTPException, _from_http)

    @app.errorhandler(ApiError)
    def _api(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers, exc.fields)

    @app.errorhandler(redis.RedisError)
    def _redis(exc: redis.RedisError) -> Response:
        log.warning("redis unavailable", extra={"error": exc.__class__.__name__})
        return error_response(
            503,
            "unavailable",
            "A backing service is unavailable; retry later.",
            {"Retry-After": RETRY_AFTER_UNAVAILABLE},
        )

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> Response:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            log.warning("database unavailable", extra={"error": exc.__class__.__name__})
            return error_response(
                503,
                "unavailable",
                "The database is unavailable; retry later.",
                {"Retry-After": RETRY_AFTER_UNAVAILABLE},
            )
        if isinstance(exc, DataError):
            # A value that passed the schema but not the column (out of range, malformed): the
            # client's input, not a server fault. The statement failed, so nothing changed.
            log.warning("value refused by the database", extra={"error": str(exc.orig)[:200]})
            return error_response(
                400, "invalid_request", "A value in the request is out of range or malformed."
            )
        return _unexpected(exc)

    app.register_error_handler(Exception, _unexpected)


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(500, "internal_error", "The server failed to handle the request.")
