"""Celery tasks: thin wrappers over the plain functions in workers.drain."""

from __future__ import annotations

import logging
import os
import socket
from functools import lru_cache
from typing import Any

import redis
from celery import Task
from celery.signals import worker_process_init

import workers.monitor  # noqa: F401  (signal handlers: the worker serves /metrics)
from cartwheel.logs import configure_logging
from workers.celery_app import app, current_settings
from workers.drain import drain, reclaim
from workers.errors import TransientError
from workers.streams import StreamConsumer

log = logging.getLogger(__name__)

_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 10,
}


@lru_cache(maxsize=1)
def consumer() -> StreamConsumer:
    """This process's stream consumer; its name survives task retries, not process death."""
    settings = current_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=30)
    c = StreamConsumer(client, settings, f"{socket.gethostname()}-{os.getpid()}")
    c.ensure_groups()
    return c


@worker_process_init.connect
def _fresh_process(**kwargs: Any) -> None:
    consumer.cache_clear()  # never share a parent's connection or consumer name after fork
    configure_logging(current_settings().log_level)


@app.task(name="cartwheel.drain", bind=True, **_RETRY)
def drain_streams(self: Task) -> int:
    """Drain the event streams; chain another drain while a backlog remains."""
    result = drain(current_settings(), consumer())
    if result.more:
        drain_streams.apply_async()
    return result.processed


@app.task(name="cartwheel.reclaim", bind=True, **_RETRY)
def reclaim_pending(self: Task) -> int:
    """Take over and process entries left pending by dead consumers."""
    return reclaim(current_settings(), consumer())
