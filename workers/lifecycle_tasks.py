"""Celery tasks for the scheduled lifecycle jobs: thin, and run at most once per time slot.

Beat stamps each message with the time it sent it; the slot is that time divided by the job's
interval. The first task of a slot claims it in Redis, so a message sent twice for the same slot
(two beats during a failover, a beat killed before it saved its schedule) runs once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import redis
from celery import Task
from celery.signals import before_task_publish, worker_process_init
from sqlalchemy.exc import SQLAlchemyError

from cartwheel.settings import Settings
from workers import lifecycle_metrics as metrics
from workers.celery_app import app, current_settings
from workers.errors import TransientError, is_transient
from workers.lifecycle import process_lifecycle_events
from workers.retention import purge_expired_payloads
from workers.sweeps import sweep_abandoned

SENT_AT = "cartwheel_sent_at"

_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}


@before_task_publish.connect
def _stamp_sent_at(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers.setdefault(SENT_AT, time.time())


@lru_cache(maxsize=1)
def _redis() -> redis.Redis:
    return redis.Redis.from_url(current_settings().redis_url, socket_timeout=10)


@worker_process_init.connect
def _fresh_process(**kwargs: Any) -> None:
    _redis.cache_clear()  # never share the parent's connection after fork


def claim_slot(
    client: redis.Redis,
    settings: Settings,
    job: str,
    interval: float,
    *,
    sent_at: Any,
    task_id: str,
) -> bool:
    """Whether this task may run: the first for its time slot, or a retry of that first one."""
    if sent_at is None:  # sent by hand, not by beat: always run
        return True
    slot = int(float(sent_at) // interval)
    key = f"{settings.namespace}:job-slot:{job}:{slot}"
    ttl = max(3600, int(interval * 10))
    if client.set(key, task_id, nx=True, ex=ttl) or client.get(key) == task_id.encode():
        metrics.JOB_RUNS.labels(job, "ran").inc()
        return True
    pipe = client.pipeline()
    pipe.incr(f"{key}:duplicate")
    pipe.expire(f"{key}:duplicate", ttl)
    pipe.execute()
    metrics.JOB_RUNS.labels(job, "duplicate").inc()
    return False


def _first_in_slot(task: Task, job: str, interval: float) -> bool:
    settings = current_settings()
    sent_at = getattr(task.request, SENT_AT, None) or (task.request.headers or {}).get(SENT_AT)
    try:
        return claim_slot(
            _redis(), settings, job, interval, sent_at=sent_at, task_id=task.request.id or ""
        )
    except redis.RedisError as exc:
        raise TransientError(str(exc)) from exc


@contextmanager
def _transient_errors() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        if is_transient(exc):
            raise TransientError(str(exc)) from exc
        raise


@app.task(name="cartwheel.sweep_abandoned", bind=True, **_RETRY)
def sweep_abandoned_checkouts_and_carts(self: Task) -> dict[str, int] | None:
    """Mark checkouts and carts abandoned once their tenant's window has passed."""
    settings = current_settings()
    if not _first_in_slot(self, "sweep_abandoned", settings.sweep_interval):
        return None
    with _transient_errors():
        return sweep_abandoned(settings)


@app.task(name="cartwheel.process_lifecycle", bind=True, **_RETRY)
def process_lifecycle(self: Task) -> int | None:
    """Act on recorded app/uninstalled and compliance webhooks."""
    settings = current_settings()
    if not _first_in_slot(self, "process_lifecycle", settings.lifecycle_interval):
        return None
    with _transient_errors():
        return len(process_lifecycle_events(settings))


@app.task(name="cartwheel.purge_raw_payloads", bind=True, **_RETRY)
def purge_raw_payloads(self: Task) -> int | None:
    """Null raw payloads older than each tenant's retention period."""
    settings = current_settings()
    if not _first_in_slot(self, "purge_raw_payloads", settings.retention_interval):
        return None
    with _transient_errors():
        return purge_expired_payloads(settings)
