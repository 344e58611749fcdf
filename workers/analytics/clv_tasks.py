"""The CLV tasks: the nightly fan-out over tenants, and one tenant's fit (on the sync queue).

Each tenant's fit is a task of its own, so Flower shows every fit with its outcome, and a fit
cut short (killed worker, time limit) is simply run again: it starts afresh, and until it
finishes the previous fit is the one the API answers with (workers/analytics/clv.py).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from typing import Any

from celery import Task

from core import jobs
from core.errors import transient_errors
from models.db import session_scope
from workers.analytics.clv import fit_tenant, tenant_ids
from workers.runtime import job, resources

log = logging.getLogger(__name__)


@job(jobs.CLV_FIT_ALL)
def fit_clv_all(self: Task) -> int:
    """Beat's nightly entry point: one CLV fit task per active tenant."""
    with transient_errors(), session_scope(resources().settings.database_url) as session:
        tenants = tenant_ids(session)
    for tenant_id in tenants:
        fit_clv.apply_async(kwargs={"tenant_id": str(tenant_id)})
    return len(tenants)


@job(jobs.CLV_FIT)
def fit_clv(self: Task, tenant_id: str) -> dict[str, Any]:
    """Fit one tenant's BG/NBD and Gamma-Gamma models and store the predictions."""
    with transient_errors():
        done = fit_tenant(resources().settings, uuid.UUID(tenant_id), job_id=self.request.id)
    log.info("clv fitted", extra={"tenant": tenant_id} | asdict(done))
    return asdict(done)
