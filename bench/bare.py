"""The baseline for receiver throughput: a bare Flask POST handler that answers 200 JSON."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request


def create_app() -> Flask:
    """One POST route that reads the body and answers, plus /healthz for the start-up wait."""
    app = Flask(__name__)

    @app.post("/webhooks")
    def webhooks() -> Response:
        request.get_data()
        return jsonify(status="accepted")

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    return app
