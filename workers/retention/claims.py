"""Expired rows of one tenant table, claimed a bounded batch per tenant, and what to do with them.

Every retention purge has the same shape: for each tenant of a group, the rows older than that
tenant's window (a `tenants` column, or one window for all), oldest first, at most `per_tenant`
of them, locked with SKIP LOCKED (workers.batches.claim_rows) so that two runs, or the drain
writing the same rows, never wait on each other. Functions take a Session and never commit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Interval, Table, delete, literal, select, text
from sqlalchemy.orm import Session

from models import Tenant
from workers.batches import BatchResult, claim_rows

_DAY = literal(timedelta(days=1), Interval())


def windows(group: list[uuid.UUID], days: Any) -> Any:
    """The group's tenants with their window in days (a Tenant column, or one number)."""
    window = days if not isinstance(days, int) else literal(days)
    return select(Tenant.id, window.label("days")).where(Tenant.id.in_(group)).subquery("t")


def expired(
    table: Table, tenants: Any, *, at: Any, now: datetime, where: tuple[Any, ...] = ()
) -> Any:
    """The tenant's rows whose `at` is older than its window, oldest first."""
    return (
        select(table.c.tenant_id)
        .where(table.c.tenant_id == tenants.c.id, at < literal(now) - tenants.c.days * _DAY, *where)
        .order_by(at)
    )


def claimed_ctids(session: Session, claim: Any) -> list[str]:
    """Lock the claimed rows; their physical ids, valid while this transaction holds them."""
    return list(session.scalars(claim))


def by_ctids(table: Table, ctids: list[str]) -> Any:
    """SQL: the row is one of `ctids` (locked by claimed_ctids)."""
    return text(f"{table.name}.ctid = ANY(CAST(:ctids AS tid[]))").bindparams(ctids=ctids)


def delete_expired(
    session: Session, table: Table, tenants: Any, claim: Any, per_tenant: int
) -> dict[uuid.UUID, int]:
    """Delete the claimed rows; rows deleted per tenant."""
    ctids = claimed_ctids(session, claim_rows(table, tenants, claim, per_tenant))
    if not ctids:
        return {}
    gone = session.scalars(delete(table).where(by_ctids(table, ctids)).returning(table.c.tenant_id))
    return dict(Counter(gone))


def result(
    group: list[uuid.UUID], tenants: int, per_tenant: int, counts: dict[uuid.UUID, int]
) -> BatchResult:
    """The batch's counts, where the next group starts, and whether a tenant filled its quota."""
    return BatchResult(
        counts=counts,
        cursor=group[-1] if len(group) == tenants else None,
        full=any(n >= per_tenant for n in counts.values()),
    )
