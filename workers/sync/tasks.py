"""Tasks of the Admin API sync: backfill runs, the reconcile fan-out, per-tenant reconciles,
refreshes. They travel on the sync queue, consumed by the sync pool only (core/jobs.py).

A run's task is one step of it (workers/sync/steps.py): when the step has to wait, the task
retries itself with the wait as countdown and the next execution goes on from the checkpoint.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task

from core import jobs
from models.db import session_scope
from workers.runtime import ADMIN_API, SYNC_RUN, SYNC_STEP_SECONDS, job, resources
from workers.sync.backfill import BackfillSuperseded, backfill_step
from workers.sync.client import ThrottleWait
from workers.sync.reconcile import due_tenants, reconcile_tenant
from workers.sync.refresh import refresh_entity
from workers.sync.steps import SyncWait

log = logging.getLogger(__name__)


@job(jobs.BACKFILL, retry=SYNC_RUN)
def backfill_task(self: Task, tenant_id: str, run_id: str) -> dict[str, dict[str, int]]:
    """Run a step of a backfill run created by the CLI or the dashboard API."""
    try:
        return backfill_step(
            resources(),
            tenant_id=uuid.UUID(tenant_id),
            run_id=uuid.UUID(run_id),
            fresh=not self.request.retries,
            job_id=self.request.id,
            step_seconds=SYNC_STEP_SECONDS,
        )
    except BackfillSuperseded as exc:
        log.warning("backfill step dropped", extra={"tenant": tenant_id, "reason": str(exc)})
        return {}
    except SyncWait as wait:
        raise self.retry(countdown=wait.seconds) from wait


@job(jobs.RECONCILE_ALL)
def reconcile_all(self: Task) -> int:
    """Beat's entry point: one reconcile task per tenant with credentials and none running."""
    with session_scope(resources().settings.database_url) as session:
        tenants = due_tenants(session)
    for tenant_id in tenants:
        reconcile_tenant_task.apply_async(kwargs={"tenant_id": str(tenant_id)})
    return len(tenants)


@job(jobs.RECONCILE_TENANT, retry=ADMIN_API)
def reconcile_tenant_task(self: Task, tenant_id: str, run_id: str | None = None) -> dict[str, Any]:
    """Reconcile one tenant, a step at a time; a wait queues the next step from the saved
    cursor (a job of its own, so that the Admin API's retry count is not spent on waits)."""
    summary = reconcile_tenant(
        resources(),
        tenant_id=uuid.UUID(tenant_id),
        run_id=uuid.UUID(run_id) if run_id else None,
        step_seconds=SYNC_STEP_SECONDS,
    )
    if summary.status == "waiting":
        reconcile_tenant_task.apply_async(
            kwargs={"tenant_id": tenant_id, "run_id": str(summary.run_id)},
            countdown=summary.retry_in,
        )
    return {
        "run": str(summary.run_id),
        "status": summary.status,
        "missing": summary.missing,
        "stale": summary.stale,
    }


@job(jobs.REFRESH, retry=ADMIN_API)
def refresh_task(self: Task, tenant_id: str, resource: str, key: Any) -> dict[str, int]:
    """Read one entity again through the Admin API (a product with more than 100 variants)."""
    try:
        outcome = refresh_entity(
            resources(), tenant_id=uuid.UUID(tenant_id), resource=resource, key=key
        )
    except ThrottleWait as wait:
        raise self.retry(countdown=wait.seconds) from wait
    return outcome.as_dict()
