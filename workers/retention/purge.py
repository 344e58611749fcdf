"""Retention: raw payloads in the event log are nulled after the tenant's period; metadata stays.

`purge_payloads` takes a Session and an explicit `now` and never commits; it claims a bounded
batch per tenant with FOR UPDATE SKIP LOCKED, like the abandonment sweeps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Interval, literal, null, or_, select
from sqlalchemy.orm import Session

from core.topics import ACTED_ON_TOPICS
from models import Tenant, WebhookEvent
from models.base import table_of
from workers.batches import BatchResult, claim_rows, run_sweep, tenant_group, update_claimed

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
    t = (
        select(Tenant.id, Tenant.raw_retention_days.label("days"))
        .where(Tenant.id.in_(group))
        .subquery("t")
    )
    expired = (
        select(ev.c.tenant_id)
        .where(
            ev.c.tenant_id == t.c.id,
            ev.c.payload.is_not(None),
            ev.c.received_at < literal(now) - t.c.days * literal(timedelta(days=1), Interval()),
            # A compliance or app webhook not acted on yet (or held) still needs its body.
            or_(
                ev.c.status.not_in(("recorded", "held")),
                ev.c.topic.not_in(sorted(ACTED_ON_TOPICS)),
            ),
        )
        .order_by(ev.c.received_at)
    )
    counts = update_claimed(
        session,
        ev,
        claim_rows(ev, t, expired, per_tenant),
        # null(), not None: None would store a JSON null, which IS NOT NULL to SQL.
        {"payload": null()},
        still=ev.c.payload.is_not(None),
    )
    return BatchResult(
        counts=counts,
        cursor=group[-1] if len(group) == tenants else None,
        full=any(n >= per_tenant for n in counts.values()),
    )


def purge_expired_payloads(res: Resources, *, now: datetime | None = None) -> int:
    """Purge every tenant's expired raw payloads in bounded batches; returns how many."""
    return run_sweep(
        res,
        "payloads",
        purge_payloads,
        now=now or datetime.now(UTC),
        per_tenant=res.settings.retention_batch_size,
    )
