"""Abandonment sweeps: open checkouts and carts with no progress within the tenant's window.

The batch functions take a Session and an explicit `now` and never commit. A batch covers a group
of tenants and claims at most `per_tenant` rows from each with FOR UPDATE SKIP LOCKED, so one
tenant's backlog cannot stall the others and several workers can sweep at the same time without
touching a row twice. `run_sweep` drives the batches, one transaction each.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Interval,
    Select,
    Table,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from cartwheel.settings import Settings
from cartwheel.versions import bump_versions
from models import Cart, Checkout, Order, Tenant
from models.base import table_of
from models.db import session_scope
from workers import lifecycle_metrics as metrics

log = logging.getLogger(__name__)

ACTIVE = "active"


@dataclass
class BatchResult:
    """What one batch changed, and where the next batch of the same pass starts."""

    counts: dict[uuid.UUID, int] = field(default_factory=dict)
    cursor: uuid.UUID | None = None  # last tenant of this group; None once every one was seen
    full: bool = False  # a tenant used its whole quota: another pass has work to do

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class BatchFn(Protocol):
    def __call__(
        self,
        session: Session,
        *,
        now: datetime,
        after: uuid.UUID | None = None,
        tenants: int = 100,
        per_tenant: int = 500,
    ) -> BatchResult: ...


def tenant_group(
    session: Session, *, after: uuid.UUID | None, size: int, active_only: bool
) -> list[uuid.UUID]:
    """The next `size` tenant ids after `after`, in id order (uninstalled ones skipped)."""
    stmt = select(Tenant.id).order_by(Tenant.id).limit(size)
    if after is not None:
        stmt = stmt.where(Tenant.id > after)
    if active_only:
        stmt = stmt.where(Tenant.status == ACTIVE)
    return list(session.scalars(stmt))


# These statements touch a few hundred rows, but their estimates (a lateral join per tenant) are
# large enough to trigger JIT compilation, which cost more than the statement itself when measured.
_NO_JIT = text("SET LOCAL jit = off")


def claim_rows(table: Table, tenants: Any, claim: Select[Any], per_tenant: int) -> Select[Any]:
    """Per tenant of `tenants`, at most `per_tenant` rows of `claim`, locked, as physical ids.

    Rows another sweep (or the drain, completing them) holds are skipped, not waited for.
    """
    locked = (
        claim.add_columns(literal_column(f"{table.name}.ctid").label("ctid"))
        .limit(per_tenant)
        .with_for_update(of=table, skip_locked=True)
        .lateral("claim")
    )
    return select(locked.c.ctid).select_from(tenants.join(locked, true()))


def update_claimed(
    session: Session, table: Table, claim: Select[Any], values: dict[str, Any], *, still: Any
) -> dict[uuid.UUID, int]:
    """Lock rows with `claim`, then update those that are `still` due; rows changed per tenant.

    The update finds the rows by physical id (they are locked, so it cannot change under us),
    which costs the same however large the table is.
    """
    session.execute(_NO_JIT)
    ctids = list(session.scalars(claim))
    if not ctids:
        return {}
    changed = session.scalars(
        update(table)
        .where(text(f"{table.name}.ctid = ANY(CAST(:ctids AS tid[]))").bindparams(ctids=ctids))
        .where(still)
        .values(values)
        .returning(table.c.tenant_id)
    )
    return dict(Counter(changed))


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


def run_sweep(
    settings: Settings, name: str, batch: BatchFn, *, now: datetime, per_tenant: int
) -> int:
    """Pass over every tenant, one transaction per group, until no tenant has work or time is up.

    A pass always finishes, so every tenant gets its quota each run; the time budget only stops
    further passes, which the next scheduled run picks up.
    """
    started = time.perf_counter()
    deadline = time.monotonic() + settings.sweep_time_budget
    total = 0
    while True:
        cursor: uuid.UUID | None = None
        again = False
        while True:
            batch_started = time.perf_counter()
            with session_scope(settings.database_url) as session:
                result = batch(
                    session,
                    now=now,
                    after=cursor,
                    tenants=settings.sweep_tenants_per_batch,
                    per_tenant=per_tenant,
                )
            bump_versions(settings.redis_url, settings.namespace, result.counts)
            metrics.SWEEP_BATCH_SECONDS.labels(name).observe(time.perf_counter() - batch_started)
            total += result.total
            again = again or result.full
            cursor = result.cursor
            if cursor is None:
                break
        if not again or time.monotonic() >= deadline:
            break
    metrics.SWEEP_ROWS.labels(name).inc(total)
    metrics.SWEEP_SECONDS.labels(name).observe(time.perf_counter() - started)
    log.info("sweep done", extra={"sweep": name, "rows": total, "more": again})
    return total


def sweep_abandoned(settings: Settings, *, now: datetime | None = None) -> dict[str, int]:
    """Run both abandonment sweeps; returns how many checkouts and carts became abandoned."""
    now = now or datetime.now(UTC)
    per_tenant = settings.sweep_rows_per_tenant
    return {
        "checkouts": run_sweep(
            settings, "checkouts", abandon_checkouts, now=now, per_tenant=per_tenant
        ),
        "carts": run_sweep(settings, "carts", abandon_carts, now=now, per_tenant=per_tenant),
    }
