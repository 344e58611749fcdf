"""What a request handler needs from the app: its settings and its Redis client."""

from __future__ import annotations

import redis
from flask import current_app

from cartwheel.settings import Settings

SETTINGS_KEY = "CARTWHEEL_SETTINGS"
REDIS_KEY = "cartwheel-redis"


def current_settings() -> Settings:
    """The settings the running app was built with."""
    settings: Settings = current_app.config[SETTINGS_KEY]
    return settings


def current_redis() -> redis.Redis:
    """The app's Redis client (one connection pool per app)."""
    client: redis.Redis = current_app.extensions[REDIS_KEY]
    return client
