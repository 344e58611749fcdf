"""Run the drain in-process (the same plain functions the Celery tasks call)."""

from __future__ import annotations

import redis

from cartwheel.settings import Settings
from workers.drain import drain
from workers.streams import StreamConsumer


def drain_all(settings: Settings, name: str = "test-consumer") -> int:
    """Drain every shard until nothing is left; returns how many entries were processed."""
    client = redis.Redis.from_url(settings.redis_url)
    consumer = StreamConsumer(client, settings, name)
    consumer.ensure_groups()
    total = 0
    try:
        while True:
            result = drain(settings, consumer, budget=30)
            total += result.processed
            if not result.processed:
                return total
    finally:
        client.close()
