"""Flask app factory of the dashboard API."""

from __future__ import annotations

import redis
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cartwheel.settings import Settings
from cartwheel.web import install_error_handlers, install_ops_routes
from models.db import get_engine


def create_app(settings: Settings | None = None) -> Flask:
    """Build the dashboard API (settings from the environment unless given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["CARTWHEEL_SETTINGS"] = settings
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)

    def ready() -> str | None:
        try:
            client.ping()
        except redis.RedisError as exc:
            return f"redis unreachable: {exc.__class__.__name__}"
        try:
            with get_engine(settings.database_url).connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return f"database unreachable: {exc.__class__.__name__}"
        return None

    install_ops_routes(app, ready)
    install_error_handlers(app)
    return app
