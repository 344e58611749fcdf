"""The retention job's task: at most once per time slot, every purge in turn."""

from __future__ import annotations

from celery import Task

from core import jobs
from core.errors import transient_errors
from workers.retention.sweeps import purge_expired
from workers.runtime import job, resources
from workers.slots import first_in_slot


@job(jobs.PURGE_RAW_PAYLOADS)
def purge_raw_payloads(self: Task) -> dict[str, int] | None:
    """Apply every retention window: raw payloads, dead letters, entity PII, customer exports."""
    res = resources()
    interval = res.settings.retention_interval
    if not first_in_slot(self, res.redis, res.settings, "purge_raw_payloads", interval):
        return None
    with transient_errors():
        return purge_expired(res)
