"""The retention job's task: at most once per time slot."""

from __future__ import annotations

from celery import Task

from core import jobs
from core.errors import transient_errors
from workers.retention.purge import purge_expired_payloads
from workers.runtime import job, resources
from workers.slots import first_in_slot


@job(jobs.PURGE_RAW_PAYLOADS)
def purge_raw_payloads(self: Task) -> int | None:
    """Null raw payloads older than each tenant's retention period."""
    res = resources()
    interval = res.settings.retention_interval
    if not first_in_slot(self, res.redis, res.settings, "purge_raw_payloads", interval):
        return None
    with transient_errors():
        return purge_expired_payloads(res)
