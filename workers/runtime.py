"""The one Celery app: its configuration, queues, schedule, retry policies, time limits, the
resources each worker process holds, and the signals that tie them together.

Tasks live beside their domain (workers/<domain>/tasks.py) and are declared with `job(...)`,
which gives each its stable name from core/jobs.py and its policy from here; they stay thin:
take this process's `Resources`, call a plain function, return.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any, TypeVar

import click
import redis
from celery import Celery, Task
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from core import jobs, logs
from core.errors import TransientError
from core.settings import Settings, SettingsError
from core.versions import Change, bump_versions
from core.wire import StreamConsumer
from models.db import reset_engines_after_fork

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

app = Celery(
    "cartwheel",
    include=[
        "workers.drain.tasks",
        "workers.abandonment.tasks",
        "workers.compliance.tasks",
        "workers.retention.tasks",
        "workers.sync.tasks",
        "workers.analytics.tasks",
        "workers.analytics.clv_tasks",
    ],
)

SENT_AT = "cartwheel_sent_at"  # header: when beat (or anyone) published the message


@dataclass(frozen=True)
class Retry:
    """When a task retries by itself: on these errors, with capped, jittered backoff."""

    on: tuple[type[BaseException], ...]
    backoff: int
    backoff_max: int
    max_retries: int | None  # None: no count; something else bounds the retries

    def options(self) -> dict[str, Any]:
        return {
            "autoretry_for": self.on,
            "retry_backoff": self.backoff,
            "retry_backoff_max": self.backoff_max,
            "retry_jitter": True,
            "max_retries": self.max_retries,
        }


# Our own infrastructure (PostgreSQL, Redis) coming back: seconds, so retry soon and often.
TRANSIENT = Retry(on=(TransientError,), backoff=1, backoff_max=30, max_retries=10)
# Shopify's Admin API failing for a while: minutes, so back off further and give up sooner;
# the run keeps its checkpoint and resumes when started again.
ADMIN_API = Retry(on=(TransientError,), backoff=5, backoff_max=300, max_retries=5)
# A backfill also retries itself to wait (a running bulk operation, a rate limit, Retry-After),
# as often as it takes: its run's deadline (sync_run_deadline), checked at every execution,
# bounds those retries and these alike, not a count.
SYNC_RUN = Retry(on=(TransientError,), backoff=5, backoff_max=300, max_retries=None)


@dataclass(frozen=True)
class Limits:
    """Seconds a task may run: a soft limit it can clean up after, then a hard one."""

    soft: float
    hard: float


# Every task has limits, so that no job can hold a pool process for ever. The drain and the
# sweeps stop by their own time budgets (drain_time_budget, sweep_time_budget) well inside them.
# A sync job is one step of its run (workers/sync/steps.py), done after SYNC_STEP_SECONDS of
# work or at its first wait, so its limits are minutes; the run's own is sync_run_deadline.
SYNC_STEP_SECONDS = 240.0
LIMITS: dict[str, Limits] = {
    jobs.DRAIN: Limits(120, 180),
    jobs.RECLAIM: Limits(120, 180),
    jobs.SWEEP_ABANDONED: Limits(300, 360),
    jobs.ACT_ON_COMPLIANCE: Limits(300, 360),
    jobs.PURGE_RAW_PAYLOADS: Limits(300, 360),
    jobs.RECONCILE_ALL: Limits(60, 120),
    jobs.RECONCILE_TENANT: Limits(600, 660),
    jobs.BACKFILL: Limits(600, 660),
    jobs.REFRESH: Limits(120, 180),
    # One tenant of 100k customers and 1M orders takes seconds; a fan-out only enqueues.
    jobs.ANALYTICS_ALL: Limits(60, 120),
    jobs.ANALYTICS_TENANT: Limits(300, 360),
    # A CLV fit of 100k customers: a minute with a cold compile cache, seconds after it.
    jobs.CLV_FIT_ALL: Limits(60, 120),
    jobs.CLV_FIT: Limits(600, 660),
    # A rebuild recomputes a shop's whole history in one transaction, 31 days per statement.
    jobs.REBUILD_ROLLUPS: Limits(600, 660),
}


class Resources:
    """What one process holds for its jobs: settings, a Redis client, its stream consumer."""

    def __init__(self, settings: Settings, consumer_name: str | None = None) -> None:
        self.settings = settings
        self._consumer_name = consumer_name or f"{socket.gethostname()}-{os.getpid()}"

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=30)

    @cached_property
    def consumer(self) -> StreamConsumer:
        """This process's stream consumer; its name survives task retries, not process death."""
        consumer = StreamConsumer(self.redis, self.settings, self._consumer_name)
        consumer.ensure_groups()
        return consumer

    @cached_property
    def producer(self) -> jobs.Producer:
        """Enqueues follow-up jobs (a partial product read again) from inside a task."""
        return jobs.Producer(self.settings)

    def bump_versions(
        self,
        tenant_ids: Any,
        *,
        strict: bool = False,
        changes: Mapping[uuid.UUID, Change] | None = None,
    ) -> None:
        """Invalidate the cached dashboard answers of tenants whose rows just changed, and tell
        their live streams (core/versions.py)."""
        bump_versions(
            self.redis, self.settings.namespace, tenant_ids, strict=strict, changes=changes
        )

    def close(self) -> None:
        if "redis" in self.__dict__:
            self.redis.close()
        if "producer" in self.__dict__:
            self.producer.close()


_current: list[Resources] = []


def resources() -> Resources:
    """This process's resources, created on first use (after a fork, afresh)."""
    if not _current:
        _current.append(Resources(Settings.from_env()))
    return _current[0]


def job(name: str, *, retry: Retry | None = TRANSIENT, **options: Any) -> Callable[[F], Any]:
    """Declare a task under its stable name, with its retry policy and time limits."""
    limits = LIMITS[name]
    extra = retry.options() if retry else {}

    def declare(fn: F) -> Any:
        return app.task(
            name=name,
            bind=True,
            soft_time_limit=limits.soft,
            time_limit=limits.hard,
            **extra,
            **options,
        )(fn)

    return declare


def celery_config(settings: Settings) -> dict[str, Any]:
    """Everything Celery, redbeat and Flower need, derived from cartwheel's settings."""
    queue = jobs.tasks_queue(settings)
    return {
        "broker_url": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        # Keep reconnecting to a Redis that restarts, however long it takes.
        "broker_connection_max_retries": None,
        "broker_transport_options": {"visibility_timeout": 3600},
        "task_default_queue": queue,
        "task_routes": {name: {"queue": jobs.queue_of(settings, name)} for name in jobs.JOBS},
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
        "beat_scheduler": "workers.beat:Scheduler",
        "redbeat_redis_url": settings.redis_url,
        "redbeat_key_prefix": f"{settings.namespace}:redbeat",
        # A short lock so a standby beat takes over quickly when the active one dies;
        # the loop interval must stay well under it so the holder keeps renewing the lock.
        "redbeat_lock_timeout": settings.beat_lock_timeout,
        "beat_max_loop_interval": settings.beat_max_loop_interval,
        "beat_schedule": schedule(settings),
    }


def schedule(settings: Settings) -> dict[str, Any]:
    """What beat sends, how often. A message nobody took before the next one is dropped."""
    every = {
        "drain": (jobs.DRAIN, settings.drain_interval, max(2.0, 2 * settings.drain_interval)),
        "reclaim": (jobs.RECLAIM, settings.reclaim_interval, None),
        "sweep-abandoned": (jobs.SWEEP_ABANDONED, settings.sweep_interval, None),
        "act-on-compliance": (jobs.ACT_ON_COMPLIANCE, settings.compliance_interval, None),
        "purge-raw-payloads": (jobs.PURGE_RAW_PAYLOADS, settings.retention_interval, None),
        "reconcile": (jobs.RECONCILE_ALL, settings.reconcile_interval, None),
        "recompute-analytics": (jobs.ANALYTICS_ALL, settings.analytics_interval, None),
        "fit-clv": (jobs.CLV_FIT_ALL, settings.clv_interval, None),
    }
    return {
        entry: {
            "task": name,
            "schedule": timedelta(seconds=seconds),
            "options": {"expires": expires or seconds},
        }
        for entry, (name, seconds, expires) in every.items()
    }


@app.on_configure.connect
def _configure(sender: Celery, **kwargs: Any) -> None:
    # Celery logs and swallows what this hook raises (Flower would then run unconfigured), but
    # lets SystemExit through: a worker, beat or Flower with bad settings stops here, saying why.
    # Code that only imports the app (to list its tasks, say) keeps Celery's behaviour.
    try:
        settings = resources().settings
    except SettingsError as exc:
        if _started_by_the_celery_command():
            raise SystemExit(f"cartwheel: {exc}") from exc
        raise
    sender.conf.update(celery_config(settings))


def _started_by_the_celery_command() -> bool:
    context = click.get_current_context(silent=True)
    return context is not None and context.find_root().info_name == "celery"


@setup_logging.connect
def _logging(loglevel: Any = None, **kwargs: Any) -> None:
    # Connected, this replaces Celery's own logging setup in the worker, beat and Flower: every
    # line is JSON, Celery's included, which keeps the level given with --loglevel.
    logs.configure_logging(resources().settings.log_level)
    if loglevel:
        logging.getLogger("celery").setLevel(loglevel)


@worker_process_init.connect
def _fresh_process(**kwargs: Any) -> None:
    # A forked pool process must not share its parent's sockets or consumer name.
    _current.clear()
    reset_engines_after_fork()
    logs.configure_logging(resources().settings.log_level)


@before_task_publish.connect
def _stamp_sent_at(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers.setdefault(SENT_AT, time.time())


_task_tokens: dict[str, Any] = {}


@task_prerun.connect
def _bind_task(task_id: str | None = None, task: Task | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = logs.bind(task_id=task_id, task=getattr(task, "name", None))


@task_postrun.connect
def _unbind_task(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        logs.unbind(token)


@worker_ready.connect
def _serve_metrics(sender: Any = None, **kwargs: Any) -> None:
    from workers import monitor

    # The sender is the worker's consumer; its app knows the queues given with -Q.
    consumed = set(getattr(getattr(sender, "app", app).amqp.queues, "consume_from", None) or ())
    monitor.serve_metrics(metrics_settings(resources().settings, consumed))


def metrics_settings(settings: Settings, consumed: set[str]) -> Settings:
    """The settings a worker serves its metrics with: a sync-only worker on its own port, so
    that the drain pool and the sync pool both run on one machine."""
    if consumed and jobs.tasks_queue(settings) not in consumed:
        return settings.with_overrides(worker_metrics_port=settings.sync_metrics_port)
    return settings


@worker_shutdown.connect
def _stop_metrics(**kwargs: Any) -> None:
    from workers import monitor

    monitor.stop_metrics()


@worker_process_shutdown.connect
def _forget_pool_process(**kwargs: Any) -> None:
    from workers import monitor

    monitor.forget_pool_process()
