"""The jobs the workers run, by name, and the one producer that enqueues them from any process.

A process that is not a worker (the dashboard API, the command line) enqueues a job by its name
through `Producer`; it never imports the worker code. Jobs a web request starts are enqueued
after its transaction commits (`enqueue_after_commit`), under an id chosen up front and stored in
that same transaction, so the row that tracks a job and the job itself always agree.
"""

from __future__ import annotations

import uuid
from typing import Any

from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.settings import Settings

# Stable names: messages in flight and Flower's history carry them.
DRAIN = "cartwheel.drain"
RECLAIM = "cartwheel.reclaim"
SWEEP_ABANDONED = "cartwheel.sweep_abandoned"
ACT_ON_COMPLIANCE = "cartwheel.act_on_compliance"
PURGE_RAW_PAYLOADS = "cartwheel.purge_raw_payloads"
RECONCILE_ALL = "cartwheel.reconcile_all"
RECONCILE_TENANT = "cartwheel.reconcile_tenant"
BACKFILL = "cartwheel.backfill"
REFRESH = "cartwheel.refresh"
# Customer analytics (workers/analytics): every tenant nightly, or one tenant on demand.
ANALYTICS_ALL = "cartwheel.recompute_analytics_all"
ANALYTICS_TENANT = "cartwheel.recompute_analytics"
# Predictive CLV (workers/analytics/clv_tasks.py): every tenant nightly, or one on demand.
CLV_FIT_ALL = "cartwheel.fit_clv_all"
CLV_FIT = "cartwheel.fit_clv"
# One tenant's daily rollups rebuilt in its zone now (after shop/update changed the zone).
REBUILD_ROLLUPS = "cartwheel.rebuild_rollups"

# The Admin API sync: long runs that wait on Shopify (bulk operations, rate limits). They travel
# on a queue of their own, consumed by a pool of their own, so that no number of them can take
# the processes that drain the webhook streams.
# The analytics recomputes ride there too: seconds of heavy SQL that must not delay a drain.
SYNC_JOBS = frozenset(
    {RECONCILE_ALL, RECONCILE_TENANT, BACKFILL, REFRESH, ANALYTICS_ALL, ANALYTICS_TENANT}
    | {CLV_FIT_ALL, CLV_FIT}  # model fits: seconds of CPU each, kept away from the drains
    | {REBUILD_ROLLUPS}  # every day of a shop's history recomputed: seconds to minutes of SQL
)

JOBS = (
    DRAIN,
    RECLAIM,
    SWEEP_ABANDONED,
    ACT_ON_COMPLIANCE,
    PURGE_RAW_PAYLOADS,
    RECONCILE_ALL,
    RECONCILE_TENANT,
    BACKFILL,
    REFRESH,
    ANALYTICS_ALL,
    ANALYTICS_TENANT,
    CLV_FIT_ALL,
    CLV_FIT,
    REBUILD_ROLLUPS,
)


def tasks_queue(settings: Settings) -> str:
    """The queue of the pipeline's own jobs (drain, reclaim, sweeps, compliance, retention)."""
    return f"{settings.namespace}-tasks"


def sync_queue(settings: Settings) -> str:
    """The queue of the Admin API sync jobs (backfill, reconcile, refresh)."""
    return f"{settings.namespace}-sync"


def queue_of(settings: Settings, name: str) -> str:
    """The queue a job travels on."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}")
    return sync_queue(settings) if name in SYNC_JOBS else tasks_queue(settings)


def queues(settings: Settings) -> list[str]:
    """Every queue there is (what one worker consuming everything, as in tests, takes)."""
    return sorted({queue_of(settings, name) for name in JOBS})


def new_job_id() -> str:
    """An id for a job that is about to be enqueued (store it before enqueueing)."""
    return str(uuid.uuid4())


class Producer:
    """Enqueues jobs by name onto the broker; safe to share within a process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._celery = Celery("cartwheel-producer", broker=settings.redis_url, set_as_current=False)
        self._celery.conf.update(
            task_serializer="json",
            broker_connection_retry_on_startup=True,
            broker_transport_options={"visibility_timeout": 3600},
        )

    def enqueue(
        self,
        name: str,
        kwargs: dict[str, Any] | None = None,
        *,
        job_id: str | None = None,
        countdown: float | None = None,
    ) -> str:
        """Queue a job now; returns its id."""
        result = self._celery.send_task(
            name,
            kwargs=kwargs or {},
            task_id=job_id or new_job_id(),
            queue=queue_of(self.settings, name),
            countdown=countdown,
        )
        return str(result.id)

    def enqueue_after_commit(
        self, session: Session, name: str, kwargs: dict[str, Any], *, job_id: str
    ) -> None:
        """Queue a job once `session` commits; nothing is sent if it rolls back."""

        def send(_session: Session) -> None:
            self.enqueue(name, kwargs, job_id=job_id)

        event.listen(session, "after_commit", send, once=True)

    def close(self) -> None:
        self._celery.close()
