"""Tenant-fair batches for the periodic jobs that change many rows (sweeps, retention).

A batch covers a group of tenants and claims at most `per_tenant` rows from each with FOR UPDATE
SKIP LOCKED, so one tenant's backlog cannot stall the others and several workers can run the same
job at once without touching a row twice. `run_sweep` drives the batches, one transaction each.
The batch functions take a Session and an explicit `now` and never commit.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import Counter as Metric
from prometheus_client import Histogram
from sqlalchemy import Select, Table, literal_column, select, text, true, update
from sqlalchemy.orm import Session

from models import Tenant
from models.db import session_scope

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)

ACTIVE = "active"
SWEEP_ROWS = Metric(
    "cartwheel_sweep_rows_total",
    "Rows a sweep changed, by sweep (checkouts or carts abandoned; payloads, dead letters, "
    "personal data in payloads and customer exports purged)",
    ["sweep"],
)
SWEEP_SECONDS = Histogram(
    "cartwheel_sweep_seconds",
    "Duration of one sweep run over every tenant",
    ["sweep"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
SWEEP_BATCH_SECONDS = Histogram(
    "cartwheel_sweep_batch_seconds",
    "Duration of one sweep batch (one transaction over a group of tenants)",
    ["sweep"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


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


def run_sweep(res: Resources, name: str, batch: BatchFn, *, now: datetime, per_tenant: int) -> int:
    """Pass over every tenant, one transaction per group, until no tenant has work or time is up.

    A pass always finishes, so every tenant gets its quota each run; the time budget only stops
    further passes, which the next scheduled run picks up.
    """
    started = time.perf_counter()
    settings = res.settings
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
            res.bump_versions(result.counts)
            SWEEP_BATCH_SECONDS.labels(name).observe(time.perf_counter() - batch_started)
            total += result.total
            again = again or result.full
            cursor = result.cursor
            if cursor is None:
                break
        if not again or time.monotonic() >= deadline:
            break
    SWEEP_ROWS.labels(name).inc(total)
    SWEEP_SECONDS.labels(name).observe(time.perf_counter() - started)
    log.info("sweep done", extra={"sweep": name, "rows": total, "more": again})
    return total
