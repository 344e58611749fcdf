"""Pieces both Flask apps share: JSON errors, health, readiness and Prometheus metrics."""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from werkzeug.exceptions import HTTPException


def json_error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The one error shape: {"error": "<code>", "message": "<human text>"}."""
    response = jsonify(error=code, message=message)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: Flask) -> None:
    """Every HTTP error, and anything unexpected, answers in the JSON error shape."""

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        return json_error(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return json_error(500, "internal_error", "The server failed to handle the request.")


def metrics_payload() -> bytes:
    """Prometheus text for this process, or for all workers of a multiprocess server."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def install_ops_routes(app: Flask, ready_check: Callable[[], str | None]) -> None:
    """GET /healthz (process up), /readyz (dependencies reachable), /metrics."""

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Response:
        problem = ready_check()
        if problem:
            return json_error(503, "not_ready", problem)
        return jsonify(status="ready")

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(metrics_payload(), mimetype=CONTENT_TYPE_LATEST)
