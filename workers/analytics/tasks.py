"""The analytics tasks: the nightly fan-out over tenants, and one tenant's recompute.

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

from core import jobs
from core.errors import transient_errors
from models.db import session_scope
from workers.analytics.customers import recompute_tenant, tenant_ids
from workers.runtime import job, resources

log = logging.getLogger(__name__)


@job(jobs.ANALYTICS_ALL)
def recompute_analytics_all(self: Task) -> int:
    """Beat's nightly entry point: one recompute task per tenant."""
    with transient_errors(), session_scope(resources().settings.database_url) as session:
        tenants = tenant_ids(session)
    for tenant_id in tenants:
        recompute_analytics.apply_async(kwargs={"tenant_id": str(tenant_id)})
    return len(tenants)


@job(jobs.ANALYTICS_TENANT)
def recompute_analytics(self: Task, tenant_id: str) -> dict[str, Any]:
    """Recompute one tenant's customer figures, RFM segments, snapshot and cohorts."""
    with transient_errors(), session_scope(resources().settings.database_url) as session:
        done = recompute_tenant(session, uuid.UUID(tenant_id), datetime.now(UTC))
    log.info("analytics recomputed", extra=asdict(done) | {"as_of": done.as_of.isoformat()})
    return asdict(done) | {"as_of": done.as_of.isoformat()}
