"""Run the drain in-process (the same plain functions the Celery tasks call)."""

from __future__ import annotations

from core.settings import Settings
from workers.drain.loop import drain
from workers.runtime import Resources


def drain_all(settings: Settings, name: str = "test-consumer") -> int:
    """Drain every shard until nothing is left; returns how many entries were processed."""
    res = Resources(settings, consumer_name=name)
    total = 0
    try:
        while True:
            result = drain(res, budget=30)
            total += result.processed
            if not result.processed:
                return total
    finally:
        res.close()
