"""Celery tasks for Admin API pulls: backfill runs, the reconcile fan-out, per-tenant reconciles."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Celery, Task

from cartwheel.settings import Settings
from models.db import session_scope
from workers.backfill import BackfillBusy, run_backfill
from workers.celery_app import app, current_settings
from workers.errors import TransientError
from workers.reconcile import due_tenants, reconcile_tenant
from workers.shopify_client import ShopifyUnavailable

log = logging.getLogger(__name__)
BACKFILL = "cartwheel.backfill"
RECONCILE_ALL = "cartwheel.reconcile_all"
RECONCILE_TENANT = "cartwheel.reconcile_tenant"

_RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError, ShopifyUnavailable),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


@app.task(name=BACKFILL, bind=True, **_RETRY)
def backfill_task(self: Task, tenant_id: str, run_id: str) -> dict[str, dict[str, int]]:
    """Run (or resume) a backfill run created by the CLI or the dashboard API."""
    try:
        return run_backfill(
            current_settings(), tenant_id=uuid.UUID(tenant_id), run_id=uuid.UUID(run_id)
        )
    except BackfillBusy:
        log.warning("backfill already running", extra={"tenant": tenant_id, "run": run_id})
        return {}


@app.task(name=RECONCILE_ALL)
def reconcile_all() -> int:
    """Beat's entry point: one reconcile task per tenant with credentials and none running."""
    with session_scope(current_settings().database_url) as session:
        tenants = due_tenants(session)
    for tenant_id in tenants:
        reconcile_tenant_task.apply_async(kwargs={"tenant_id": str(tenant_id)})
    return len(tenants)


@app.task(name=RECONCILE_TENANT, bind=True, **_RETRY)
def reconcile_tenant_task(self: Task, tenant_id: str, run_id: str | None = None) -> dict[str, Any]:
    """Reconcile one tenant; when its bucket needs a long wait, continue later from the cursor."""
    summary = reconcile_tenant(
        current_settings(),
        tenant_id=uuid.UUID(tenant_id),
        run_id=uuid.UUID(run_id) if run_id else None,
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


def enqueue(settings: Settings, name: str, **kwargs: Any) -> str:
    """Queue a task from a process that is not a worker (the dashboard API); returns its id."""
    producer = Celery(broker=settings.redis_url)
    try:
        result = producer.send_task(name, kwargs=kwargs, queue=settings.celery_queue)
        return str(result.id)
    finally:
        producer.close()
