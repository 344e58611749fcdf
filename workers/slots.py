"""Periodic jobs run at most once per time slot, however many messages beat sent for it.

Beat stamps each message with the time it sent it (runtime.SENT_AT); the slot is that time
divided by the job's interval. The first task of a slot claims it in Redis, so a message sent
twice for the same slot (two beats during a failover, a beat killed before it saved its
schedule) runs once. A retry of the first task is the same task id, so it runs again.
"""

from __future__ import annotations

from typing import Any

import redis
from celery import Task
from prometheus_client import Counter

from core.errors import TransientError
from core.settings import Settings

JOB_RUNS = Counter(
    "cartwheel_job_runs_total",
    "Scheduled job runs, by job and outcome (ran, or duplicate: its time slot already ran)",
    ["job", "outcome"],
)


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
        JOB_RUNS.labels(job, "ran").inc()
        return True
    pipe = client.pipeline()
    pipe.incr(f"{key}:duplicate")
    pipe.expire(f"{key}:duplicate", ttl)
    pipe.execute()
    JOB_RUNS.labels(job, "duplicate").inc()
    return False


def first_in_slot(
    task: Task, client: redis.Redis, settings: Settings, job: str, interval: float
) -> bool:
    """`claim_slot` for a running task, from the stamp beat put on its message."""
    from workers.runtime import SENT_AT

    request = task.request
    sent_at = getattr(request, SENT_AT, None) or (request.headers or {}).get(SENT_AT)
    try:
        return claim_slot(
            client, settings, job, interval, sent_at=sent_at, task_id=request.id or ""
        )
    except redis.RedisError as exc:
        raise TransientError(str(exc)) from exc
