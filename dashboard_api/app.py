"""Flask app factory of the dashboard API."""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from core.http import install_ops_routes
from core.jobs import Producer
from core.settings import Settings
from dashboard_api.accounts.passwords import warm_up
from dashboard_api.api import Api
from dashboard_api.auth import BEARER_SCHEME, SECURITY_SCHEME
from dashboard_api.context import PRODUCER_KEY, REDIS_KEY, SETTINGS_KEY
from dashboard_api.errors import Invalid, install_error_handlers
from dashboard_api.views.account import accounts, api_keys, tenant, users
from dashboard_api.views.data import insights, lists, reports
from dashboard_api.views.operations import dead_letters, exports, sync, webhooks
from models.db import get_engine

MAX_REQUEST_BYTES = 1024 * 1024

OPENAPI_CONFIG = {
    "API_TITLE": "cartwheel dashboard API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
}


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_nul(v) for v in value)
    return False


def _refuse_nul_characters() -> None:
    """PostgreSQL text cannot hold NUL: refuse it up front instead of failing in the database."""
    args = [[key, *values] for key, values in request.args.lists()]
    body = request.get_json(silent=True) if request.is_json else None
    if _contains_nul(args) or _contains_nul(body):
        raise Invalid("Strings must not contain NUL (U+0000) characters.")


def create_app(settings: Settings | None = None) -> Flask:
    """Build the dashboard API (settings from the environment unless given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(OPENAPI_CONFIG, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    app.config[SETTINGS_KEY] = settings
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions[REDIS_KEY] = client
    app.extensions[PRODUCER_KEY] = Producer(settings)

    api = Api(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, BEARER_SCHEME)
    api.register_blueprint(accounts.blp)
    api.register_blueprint(tenant.blp)
    api.register_blueprint(users.blp)
    api.register_blueprint(api_keys.blp)
    api.register_blueprint(lists.blp)
    api.register_blueprint(insights.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(dead_letters.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(exports.blp)
    api.register_blueprint(sync.blp)

    def ready() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"redis unreachable: {exc.__class__.__name__}"
        try:
            with get_engine(settings.api_db_url).connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"database unreachable: {exc.__class__.__name__}"
        return None

    install_ops_routes(app, ready)
    app.before_request(_refuse_nul_characters)
    # After Api(): these replace flask-smorest's handlers with cartwheel's error shape.
    install_error_handlers(app)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    warm_up()
    return app
