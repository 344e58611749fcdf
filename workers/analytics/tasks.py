"""The analytics tasks: the nightly fan-out over tenants, one tenant's recompute, and one
tenant's rollups rebuilt in its zone now.

Each tenant is a task of its own, on the sync queue (core/jobs.py), so Flower shows every
recompute and a run cut short resumes by redoing only the tenants whose task did not finish:
a recompute replaces the tenant's rows in one transaction, so running it again is harmless.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from celery import Task
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import jobs
from core.errors import transient_errors
from models import RollupZone, Tenant
from models.db import session_scope
from workers.analytics.customers import recompute_tenant, tenant_ids
from workers.runtime import job, resources
from writes.rollup_days import rebuild

log = logging.getLogger(__name__)


@job(jobs.ANALYTICS_ALL)
def recompute_analytics_all(self: Task) -> int:
    """Beat's nightly entry point: one recompute task per tenant, and a rollup rebuild for
    each tenant whose zone changed since its rollups were built (a rebuild that was missed)."""
    with transient_errors(), session_scope(resources().settings.database_url) as session:
        tenants = tenant_ids(session)
        moved = zone_changed(session)
    for tenant_id in tenants:
        recompute_analytics.apply_async(kwargs={"tenant_id": str(tenant_id)})
    for tenant_id in moved:
        rebuild_rollups.apply_async(kwargs={"tenant_id": str(tenant_id)})
    return len(tenants)


@job(jobs.ANALYTICS_TENANT)
def recompute_analytics(self: Task, tenant_id: str) -> dict[str, Any]:
    """Recompute one tenant's customer figures, RFM segments, snapshot and cohorts."""
    with transient_errors(), session_scope(resources().settings.database_url) as session:
        done = recompute_tenant(session, uuid.UUID(tenant_id), datetime.now(UTC))
    resources().bump_versions([uuid.UUID(tenant_id)])  # cached cohorts and movement go stale
    log.info("analytics recomputed", extra=asdict(done) | {"as_of": done.as_of.isoformat()})
    return asdict(done) | {"as_of": done.as_of.isoformat()}


@job(jobs.REBUILD_ROLLUPS)
def rebuild_rollups(self: Task, tenant_id: str) -> int:
    """Rebuild one tenant's daily rollups in its zone now, in one transaction; returns days."""
    res = resources()
    tid = uuid.UUID(tenant_id)
    with transient_errors(), session_scope(res.settings.database_url) as session:
        days = rebuild(session, tid)[tid]
    # Cached answers were computed from the old rollups: the next one is fresh.
    res.bump_versions([tid])
    log.info("rollups rebuilt", extra={"tenant": tenant_id, "days": days})
    return days


def zone_changed(session: Session) -> list[uuid.UUID]:
    """Tenants whose rollups are bucketed in another zone than the shop's own now."""
    query = (
        select(Tenant.id)
        .join(RollupZone, RollupZone.tenant_id == Tenant.id)
        .where(RollupZone.tz != Tenant.timezone)
        .order_by(Tenant.id)
    )
    return list(session.scalars(query))
