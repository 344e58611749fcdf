"""Retention: raw payloads in the event log are nulled after the tenant's period; metadata stays.

`purge_payloads` takes a Session and an explicit `now` and never commits; it claims a bounded
batch per tenant with FOR UPDATE SKIP LOCKED, like the abandonment sweeps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import null, or_
from sqlalchemy.orm import Session

from core.topics import ACTED_ON_TOPICS
from models import Tenant, WebhookEvent
from models.base import table_of
from workers.batches import BatchResult, claim_rows, run_sweep, tenant_group, update_claimed
from workers.retention.claims import expired, result, windows

if TYPE_CHECKING:
    from workers.runtime import Resources


def purge_payloads(
    session: Session,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 1000,
) -> BatchResult:
    """Null raw payloads older than each tenant's retention; the event metadata stays."""
    group = tenant_group(session, after=after, size=tenants, active_only=False)
    if not group:
        return BatchResult()
    ev = table_of(WebhookEvent)
    t = windows(group, Tenant.raw_retention_days)
    claim = expired(
        ev,
        t,
        at=ev.c.received_at,
        now=now,
        where=(
            ev.c.payload.is_not(None),
            # A compliance or app webhook not acted on yet (or held) still needs its body.
            or_(
                ev.c.status.not_in(("recorded", "held")),
                ev.c.topic.not_in(sorted(ACTED_ON_TOPICS)),
            ),
        ),
    )
    counts = update_claimed(
        session,
        ev,
        claim_rows(ev, t, claim, per_tenant),
        # null(), not None: None would store a JSON null, which IS NOT NULL to SQL.
        {"payload": null()},
        still=ev.c.payload.is_not(None),
    )
    return result(group, tenants, per_tenant, counts)


def purge_expired_payloads(res: Resources, *, now: datetime | None = None) -> int:
    """Purge every tenant's expired raw payloads in bounded batches; returns how many."""
    return run_sweep(
        res,
        "payloads",
        purge_payloads,
        now=now or datetime.now(UTC),
        per_tenant=res.settings.retention_batch_size,
    )
