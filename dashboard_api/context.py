"""What a request handler needs from the app: its settings, Redis client and job producer."""

from __future__ import annotations

import redis
from flask import current_app

from core.jobs import Producer
from core.settings import Settings

SETTINGS_KEY = "CARTWHEEL_SETTINGS"
REDIS_KEY = "cartwheel-redis"
PRODUCER_KEY = "cartwheel-producer"
LIVE_KEY = "cartwheel-live"


def current_settings() -> Settings:
    """The settings the running app was built with."""
    settings: Settings = current_app.config[SETTINGS_KEY]
    return settings


def current_redis() -> redis.Redis:
    """The app's Redis client (one connection pool per app)."""
    client: redis.Redis = current_app.extensions[REDIS_KEY]
    return client


def current_producer() -> Producer:
    """The app's job producer (enqueues jobs by name; never imports the workers)."""
    producer: Producer = current_app.extensions[PRODUCER_KEY]
    return producer
