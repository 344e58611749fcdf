"""What owners and operators ask of the Admin API sync: backfill runs to start, runs to list.

The runs themselves are carried out by the workers (workers/sync/); these functions only create
and read their rows, so the dashboard API and the command line need no worker code.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

import resources
from core.errors import CartwheelError
from models import BackfillCheckpoint, BackfillRun, ReconcileRun
from models.scoping import tenant_select

UNFINISHED = ("queued", "running", "failed")


class BackfillError(CartwheelError):
    """A backfill that cannot go on (refused bulk operation, missing credentials...)."""


def pullable() -> tuple[str, ...]:
    """The resources the Admin API serves, in the order they are pulled."""
    return tuple(name for name, r in resources.RESOURCES.items() if r.pull is not None)


def check_resources(names: list[str]) -> list[str]:
    """Validate and order resource names; raises BackfillError for an unknown one."""
    known = pullable()
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        raise BackfillError(f"unknown resources {unknown}; choose from {list(known)}")
    return [r for r in known if r in names]


def start_run(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    resources: list[str],
    since: datetime | None,
    restart: bool = False,
    job_id: str | None = None,
) -> tuple[BackfillRun, bool]:
    """The unfinished run with the same arguments (resumed), or a new one; True if resumed.

    `job_id` is stored as the run's task id: the caller enqueues the job under it once this
    transaction commits.
    """
    resources = check_resources(resources)
    unfinished = session.scalars(
        tenant_select(BackfillRun, tenant_id=tenant_id)
        .where(BackfillRun.status.in_(UNFINISHED))
        .order_by(BackfillRun.created_at.desc())
    ).all()
    for run in unfinished:
        if not restart and list(run.resources) == resources and run.since == since:
            if job_id is not None:
                run.task_id = job_id
            return run, True
    for run in unfinished:
        run.status = "superseded"
    run = BackfillRun(
        tenant_id=tenant_id, resources=resources, since=since, status="queued", task_id=job_id
    )
    session.add(run)
    session.flush()
    session.add_all(
        BackfillCheckpoint(tenant_id=tenant_id, run_id=run.id, resource=r) for r in resources
    )
    session.flush()
    return run, False


def checkpoints(session: Session, run: BackfillRun) -> list[BackfillCheckpoint]:
    """A run's per-resource checkpoints, in pull order."""
    order = {r: i for i, r in enumerate(pullable())}
    found = session.scalars(
        tenant_select(BackfillCheckpoint, tenant_id=run.tenant_id).where(
            BackfillCheckpoint.run_id == run.id
        )
    ).all()
    return sorted(found, key=lambda c: order.get(c.resource, len(order)))


def list_backfills(session: Session, *, tenant_id: uuid.UUID, limit: int = 50) -> list[BackfillRun]:
    """A tenant's most recent backfill runs, newest first."""
    stmt = tenant_select(BackfillRun, tenant_id=tenant_id)
    return list(session.scalars(stmt.order_by(BackfillRun.created_at.desc()).limit(limit)))


def list_reconciles(
    session: Session, *, tenant_id: uuid.UUID, limit: int = 50
) -> list[ReconcileRun]:
    """A tenant's most recent reconcile runs, newest first."""
    stmt = tenant_select(ReconcileRun, tenant_id=tenant_id)
    return list(session.scalars(stmt.order_by(ReconcileRun.started_at.desc()).limit(limit)))


__all__ = [
    "UNFINISHED",
    "BackfillError",
    "check_resources",
    "checkpoints",
    "list_backfills",
    "list_reconciles",
    "pullable",
    "start_run",
]
