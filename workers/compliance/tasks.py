"""The compliance job's task: at most once per time slot."""

from __future__ import annotations

from celery import Task

from core import jobs
from core.errors import transient_errors
from workers.compliance.actions import act_on_recorded_events
from workers.runtime import job, resources
from workers.slots import first_in_slot


@job(jobs.ACT_ON_COMPLIANCE)
def act_on_compliance(self: Task) -> int | None:
    """Act on recorded app/uninstalled and compliance webhooks."""
    res = resources()
    interval = res.settings.compliance_interval
    if not first_in_slot(self, res.redis, res.settings, "act_on_compliance", interval):
        return None
    with transient_errors():
        return len(act_on_recorded_events(res))
