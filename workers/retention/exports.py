"""Customer exports are deleted a fixed time after they were made.

An export (the answer to a customers/data_request) gathers everything held about one person in
one place: the most sensitive row a tenant has. It exists to be handed to the merchant, so it is
kept CARTWHEEL_EXPORT_RETENTION_DAYS (30) after it was made and then deleted; a new request
makes a new one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from models import CustomerExport
from models.base import table_of
from workers.batches import BatchResult, tenant_group
from workers.retention.claims import delete_expired, expired, result, windows


def purge_exports(
    session: Session,
    *,
    now: datetime,
    days: int,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 1000,
) -> BatchResult:
    """Delete customer exports made more than `days` ago."""
    group = tenant_group(session, after=after, size=tenants, active_only=False)
    if not group:
        return BatchResult()
    ex = table_of(CustomerExport)
    t = windows(group, days)
    claim = expired(ex, t, at=ex.c.created_at, now=now)
    return result(group, tenants, per_tenant, delete_expired(session, ex, t, claim, per_tenant))
