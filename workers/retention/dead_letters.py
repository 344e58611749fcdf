"""Dead letters leave after the tenant's dead-letter window, replayed or not.

A dead letter holds a whole delivery body (a copy of the raw payload, with whatever personal data
it carries), kept so an operator can fix the cause and replay it; replay needs that body, so an
unresolved dead letter stays for the whole window. Past it, the row is deleted: a dead letter
without its body could be neither read nor replayed. The event log keeps the delivery's metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from models import DeadLetter, Tenant
from models.base import table_of
from workers.batches import BatchResult, tenant_group
from workers.retention.claims import delete_expired, expired, result, windows


def purge_dead_letters(
    session: Session,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 1000,
) -> BatchResult:
    """Delete dead letters created more than the tenant's dead_letter_retention_days ago."""
    group = tenant_group(session, after=after, size=tenants, active_only=False)
    if not group:
        return BatchResult()
    dl = table_of(DeadLetter)
    t = windows(group, Tenant.dead_letter_retention_days)
    claim = expired(dl, t, at=dl.c.created_at, now=now)
    return result(group, tenants, per_tenant, delete_expired(session, dl, t, claim, per_tenant))
