"""Pieces both Flask apps share: JSON errors, security headers, health, readiness, metrics."""

from __future__ import annotations

import base64
import hashlib
import os
import re
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


# Both apps answer JSON (and Prometheus text) only: nothing in a response may load, run, frame
# or submit anything, and browsers must not guess another content type or leak the URL.
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), geolocation=(), microphone=(), payment=()",
}
_LOCKED = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_JSON_CSP = f"default-src 'none'; {_LOCKED}"
# The one HTML page (the API docs) runs its own assets from this origin and the inline scripts
# the server rendered into it, each allowed by its hash; nothing from another host. Swagger UI
# styles elements inline and draws icons as data: images.
_PAGE_CSP = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    f"img-src 'self' data:; connect-src 'self'; {_LOCKED}"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def install_security_headers(app: Flask, hsts_seconds: int = 0) -> None:
    """Security headers on every answer; HSTS when the app is served over HTTPS.

    hsts_seconds > 0 tells browsers to use HTTPS only for that long: set it when a proxy
    terminates TLS in front of the app (over plain HTTP browsers ignore the header).
    """
    headers = dict(_HEADERS)
    if hsts_seconds > 0:
        headers["Strict-Transport-Security"] = f"max-age={hsts_seconds}; includeSubDomains"

    @app.after_request
    def _secure(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = _csp(response)
        return response


def _csp(response: Response) -> str:
    if response.mimetype != "text/html" or response.direct_passthrough or response.is_streamed:
        return _JSON_CSP
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(response.get_data())
    )
    return _PAGE_CSP.format(hashes=hashes)


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
