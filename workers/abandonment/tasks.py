"""The abandonment sweep's task: at most once per time slot."""

from __future__ import annotations

from celery import Task

from core import jobs
from core.errors import transient_errors
from workers.abandonment.sweeps import sweep_abandoned
from workers.runtime import job, resources
from workers.slots import first_in_slot


@job(jobs.SWEEP_ABANDONED)
def sweep_abandoned_checkouts_and_carts(self: Task) -> dict[str, int] | None:
    """Mark checkouts and carts abandoned once their tenant's window has passed."""
    res = resources()
    interval = res.settings.sweep_interval
    if not first_in_slot(self, res.redis, res.settings, "sweep_abandoned", interval):
        return None
    with transient_errors():
        return sweep_abandoned(res)
