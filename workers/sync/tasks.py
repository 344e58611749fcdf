"""Tasks of the Admin API sync: backfill runs, the reconcile fan-out, per-tenant reconciles."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task

from core import jobs
from models.db import session_scope
from workers.runtime import ADMIN_API, job, resources
from workers.sync.backfill import BackfillBusy, run_backfill
from workers.sync.reconcile import due_tenants, reconcile_tenant
from workers.sync.refresh import refresh_entity

log = logging.getLogger(__name__)


@job(jobs.BACKFILL, retry=ADMIN_API)
def backfill_task(self: Task, tenant_id: str, run_id: str) -> dict[str, dict[str, int]]:
    """Run (or resume) a backfill run created by the CLI or the dashboard API."""
    try:
        return run_backfill(resources(), tenant_id=uuid.UUID(tenant_id), run_id=uuid.UUID(run_id))
    except BackfillBusy:
        log.warning("backfill already running", extra={"tenant": tenant_id, "run": run_id})
        return {}


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
    """Reconcile one tenant; when its bucket needs a long wait, continue later from the cursor."""
    summary = reconcile_tenant(
        resources(), tenant_id=uuid.UUID(tenant_id), run_id=uuid.UUID(run_id) if run_id else None
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
    outcome = refresh_entity(
        resources(), tenant_id=uuid.UUID(tenant_id), resource=resource, key=key
    )
    return outcome.as_dict()
