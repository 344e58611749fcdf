"""Flask app factory of the dashboard API."""

from __future__ import annotations

import redis
from flask import Flask, request
from flask_cors import CORS
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from core.http import install_ops_routes, install_security_headers
from core.jobs import Producer
from core.settings import Settings
from dashboard_api.accounts.passwords import warm_up
from dashboard_api.api import SWAGGER_UI_URL, Api
from dashboard_api.auth import BEARER_SCHEME, SECURITY_SCHEME
from dashboard_api.bodies import BadInput, check_value, parse_body
from dashboard_api.context import LIVE_KEY, PRODUCER_KEY, REDIS_KEY, SETTINGS_KEY
from dashboard_api.errors import Invalid, install_error_handlers
from dashboard_api.live import Hub
from dashboard_api.views.account import (
    accounts,
    api_keys,
    browser,
    sessions,
    tenant,
    users,
    verification,
)
from dashboard_api.views.data import clv as clv_views
from dashboard_api.views.data import customers as customer_analytics
from dashboard_api.views.data import insights, lists, live, reports
from dashboard_api.views.data import products as products_report
from dashboard_api.views.operations import compliance, dead_letters, exports, sync, webhooks
from dashboard_api.web import install_web
from models.db import get_engine

MAX_REQUEST_BYTES = 1024 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

OPENAPI_CONFIG = {
    "API_TITLE": "cartwheel dashboard API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_URL,
}


def _check_input() -> None:
    """Refuse what no endpoint can take, before auth, schemas or the database see it.

    Path and query strings go through the same text check as JSON strings; a body must be
    strict JSON (dashboard_api.bodies). The API takes no other body type.
    """
    try:
        for name, values in request.args.lists():
            check_value([name, *values])
        check_value(list((request.view_args or {}).values()))
        data = request.get_data(cache=True)
        if not data:
            return
        if not request.is_json:
            if request.method in BODY_METHODS:
                raise BadInput("Send the body as application/json.")
            return
        parse_body(data)
    except BadInput as exc:
        raise Invalid(str(exc)) from None


# What a page of another origin may send and read (CARTWHEEL_CORS_ORIGINS). Bearer tokens
# only: the browser session's cookies are SameSite=Strict and never go cross-site.
CORS_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID"]
CORS_EXPOSED = ["X-Cache", "Retry-After", "Content-Disposition"]


def _allow_origins(app: Flask, settings: Settings) -> None:
    origins = [o.strip().rstrip("/") for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        CORS(
            app,
            resources={r"/api/*": {}, r"/login": {}, r"/token/refresh": {}, r"/logout": {}},
            origins=origins,
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            supports_credentials=False,
            max_age=600,
        )


def create_app(settings: Settings | None = None) -> Flask:
    """Build the dashboard API (settings from the environment unless given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(OPENAPI_CONFIG, MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    app.config[SETTINGS_KEY] = settings
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions[REDIS_KEY] = client
    app.extensions[PRODUCER_KEY] = Producer(settings)
    app.extensions[LIVE_KEY] = Hub(settings)

    api = Api(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, BEARER_SCHEME)
    api.register_blueprint(accounts.blp)
    api.register_blueprint(browser.blp)
    api.register_blueprint(tenant.blp)
    api.register_blueprint(verification.blp)
    api.register_blueprint(users.blp)
    api.register_blueprint(sessions.blp)
    api.register_blueprint(api_keys.blp)
    api.register_blueprint(lists.blp)
    api.register_blueprint(insights.blp)
    api.register_blueprint(live.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(clv_views.blp)
    api.register_blueprint(products_report.blp)
    api.register_blueprint(customer_analytics.blp)
    api.register_blueprint(dead_letters.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(exports.blp)
    api.register_blueprint(sync.blp)
    api.register_blueprint(compliance.blp)

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

    install_web(app)
    _allow_origins(app, settings)
    install_ops_routes(app, ready)
    install_security_headers(app, settings.hsts_seconds)
    app.before_request(_check_input)
    # After Api(): these replace flask-smorest's handlers with cartwheel's error shape.
    install_error_handlers(app)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]
    warm_up()
    return app
