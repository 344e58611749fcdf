"""The one Celery app and its whole configuration (broker, queues, redbeat, schedule)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from celery import Celery

from cartwheel.settings import Settings

app = Celery(
    "cartwheel", include=["workers.tasks", "workers.lifecycle_tasks", "workers.sync_tasks"]
)


@lru_cache(maxsize=1)
def current_settings() -> Settings:
    """Settings of this worker/beat process, read from the environment once."""
    return Settings.from_env()


def celery_config(settings: Settings) -> dict[str, Any]:
    """Everything Celery, redbeat and Flower need, derived from cartwheel's settings."""
    drain_every = timedelta(seconds=settings.drain_interval)
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": 3600},
        "task_default_queue": settings.celery_queue,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        # Our JSON handler writes to stderr; redirected, its records would loop back and vanish.
        "worker_redirect_stdouts": False,
        "timezone": "UTC",
        "beat_scheduler": "redbeat.RedBeatScheduler",
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": f"{settings.namespace}:redbeat",
        # A short lock so a standby beat takes over quickly when the active one dies;
        # the loop interval must stay well under it so the holder keeps renewing the lock.
        "redbeat_lock_timeout": settings.beat_lock_timeout,
        "beat_max_loop_interval": settings.beat_max_loop_interval,
        "beat_schedule": {
            "drain": {
                "task": "cartwheel.drain",
                "schedule": drain_every,
                # A tick nobody picked up in time is superseded by the next one.
                "options": {"expires": max(2.0, 2 * settings.drain_interval)},
            },
            "reclaim": {
                "task": "cartwheel.reclaim",
                "schedule": timedelta(seconds=settings.reclaim_interval),
                "options": {"expires": settings.reclaim_interval},
            },
            **lifecycle_schedule(settings),
            "reconcile": {
                "task": "cartwheel.reconcile_all",
                "schedule": timedelta(seconds=settings.reconcile_interval),
                "options": {"expires": settings.reconcile_interval},
            },
        },
    }


def lifecycle_schedule(settings: Settings) -> dict[str, Any]:
    """Abandonment sweeps, compliance actions and retention; each run is idempotent per slot."""
    jobs = {
        "sweep-abandoned": ("cartwheel.sweep_abandoned", settings.sweep_interval),
        "process-lifecycle": ("cartwheel.process_lifecycle", settings.lifecycle_interval),
        "purge-raw-payloads": ("cartwheel.purge_raw_payloads", settings.retention_interval),
    }
    return {
        name: {
            "task": task,
            "schedule": timedelta(seconds=every),
            "options": {"expires": every},
        }
        for name, (task, every) in jobs.items()
    }


@app.on_configure.connect
def _configure(sender: Celery, **kwargs: Any) -> None:
    sender.conf.update(celery_config(current_settings()))
