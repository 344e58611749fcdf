"""Abandonment sweeps: open checkouts and carts with no progress within the tenant's window.

A checkout with no order and no activity for its tenant's window becomes `abandoned` at its last
activity plus the window; a cart that no checkout or order followed, likewise. The batches are
tenant-fair (workers/batches.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Interval, Table, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from models import Cart, Checkout, Order, Tenant
from models.base import table_of
from workers.batches import BatchResult, claim_rows, run_sweep, tenant_group, update_claimed

if TYPE_CHECKING:
    from workers.runtime import Resources


def _abandon(
    session: Session,
    table: Table,
    followed: Callable[[Table], Any],
    *,
    now: datetime,
    after: uuid.UUID | None,
    tenants: int,
    per_tenant: int,
) -> BatchResult:
    group = tenant_group(session, after=after, size=tenants, active_only=True)
    if not group:
        return BatchResult()
    t = (
        select(Tenant.id, Tenant.checkout_abandon_minutes.label("minutes"))
        .where(Tenant.id.in_(group))
        .subquery("t")
    )
    minute = literal(timedelta(minutes=1), Interval())
    # Last sign of life; the same expression as the partial index the sweep walks.
    activity = func.coalesce(table.c.updated_at, table.c.created_at, table.c.ingested_at)
    due = (
        select(table.c.tenant_id)
        .where(
            table.c.tenant_id == t.c.id,
            table.c.status == "open",
            table.c.deleted_at.is_(None),
            activity < literal(now) - t.c.minutes * minute,
            ~followed(table),
        )
        .order_by(activity)
    )
    window = (
        select(Tenant.checkout_abandon_minutes)
        .where(Tenant.id == table.c.tenant_id)
        .scalar_subquery()
    )
    counts = update_claimed(
        session,
        table,
        claim_rows(table, t, due, per_tenant),
        {"status": "abandoned", "abandoned_at": activity + window * minute},
        still=table.c.status == "open",
    )
    return BatchResult(
        counts=counts,
        cursor=group[-1] if len(group) == tenants else None,
        full=any(n >= per_tenant for n in counts.values()),
    )


def _checkout_followed(chk: Table) -> Any:
    orders = table_of(Order)
    completed = exists().where(
        orders.c.tenant_id == chk.c.tenant_id, orders.c.checkout_token == chk.c.token
    )
    return or_(chk.c.completed_at.is_not(None), completed)


def _cart_followed(carts: Table) -> Any:
    orders, chk = table_of(Order), table_of(Checkout)
    return or_(
        exists().where(chk.c.tenant_id == carts.c.tenant_id, chk.c.cart_token == carts.c.token),
        exists().where(
            orders.c.tenant_id == carts.c.tenant_id, orders.c.cart_token == carts.c.token
        ),
    )


def abandon_checkouts(
    session: Session,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 500,
) -> BatchResult:
    """Mark open checkouts with no order and no activity within the window `abandoned`."""
    return _abandon(
        session,
        table_of(Checkout),
        _checkout_followed,
        now=now,
        after=after,
        tenants=tenants,
        per_tenant=per_tenant,
    )


def abandon_carts(
    session: Session,
    *,
    now: datetime,
    after: uuid.UUID | None = None,
    tenants: int = 100,
    per_tenant: int = 500,
) -> BatchResult:
    """Mark open carts that no checkout or order followed within the window `abandoned`."""
    return _abandon(
        session,
        table_of(Cart),
        _cart_followed,
        now=now,
        after=after,
        tenants=tenants,
        per_tenant=per_tenant,
    )


def sweep_abandoned(res: Resources, *, now: datetime | None = None) -> dict[str, int]:
    """Run both abandonment sweeps; returns how many checkouts and carts became abandoned."""
    now = now or datetime.now(UTC)
    per_tenant = res.settings.sweep_rows_per_tenant
    return {
        "checkouts": run_sweep(res, "checkouts", abandon_checkouts, now=now, per_tenant=per_tenant),
        "carts": run_sweep(res, "carts", abandon_carts, now=now, per_tenant=per_tenant),
    }
