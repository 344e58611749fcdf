"""Backfill: per resource one bulk operation, its result split on disk, applied bucket by bucket.

Each bucket is written in one transaction together with its checkpoint, so an interrupted
backfill (Ctrl-C, a killed worker) resumes at the first unapplied bucket without writing any
row twice; rows go through the webhooks' last-writer-wins path (writes.pulled).

A worker runs a backfill in steps (`backfill_step`, see steps.py): each goes on from the
checkpoints until it must wait, then the task retries itself; the command line runs the same
steps in its own process (`run_backfill`) and sleeps between them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.settings import Settings
from models import BackfillCheckpoint, BackfillRun, SyncWatermark
from models.base import table_of
from models.db import get_engine, session_scope
from models.scoping import tenant_select
from shops.credentials import AdminApi, admin_api
from shops.syncs import BackfillError
from workers.sync import bulk_file
from workers.sync.buckets import (
    ProgressFn,
    apply_split,
    load_checkpoint,
    work_dir,
)
from workers.sync.bulk import forget_unusable, split_result, wait_inline
from workers.sync.client import ShopifyClient, ThrottleWait
from workers.sync.steps import RunDeadline, StepClock, SyncWait, overdue

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)


class BackfillBusy(BackfillError):
    """Another backfill of the same tenant holds the lock."""


class BackfillSuperseded(BackfillError):
    """The run has been handed to a newer job (it was started again)."""


@contextmanager
def tenant_lock(settings: Settings, tenant_id: uuid.UUID) -> Iterator[None]:
    """One backfill per tenant at a time; a killed process releases the lock with its session."""
    with get_engine(settings.database_url).connect() as conn:
        key = {"k": f"cartwheel-backfill:{tenant_id}"}
        got = conn.execute(text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), key)
        if not got.scalar():
            conn.rollback()
            raise BackfillBusy(f"a backfill of tenant {tenant_id} is already running")
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key)
            conn.commit()


def run_backfill(
    res: Resources,
    *,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    on_progress: ProgressFn | None = None,
    client: ShopifyClient | None = None,
) -> dict[str, dict[str, int]]:
    """Run (or resume) a backfill to its end in this process, sleeping through its waits (the
    command line, tests, benchmarks); returns per resource the rows seen and written."""
    if client is None:
        client = ShopifyClient(_admin_api(res.settings, tenant_id), settings=res.settings)
    fresh = True
    while True:
        try:
            return backfill_step(
                res,
                tenant_id=tenant_id,
                run_id=run_id,
                fresh=fresh,
                on_progress=on_progress,
                client=client,
            )
        except SyncWait as wait:
            if isinstance(wait.__cause__, BackfillBusy):
                raise wait.__cause__ from None  # another process runs it: say so, do not queue
            wait_inline(res.settings, tenant_id, wait)
        fresh = False


def backfill_step(
    res: Resources,
    *,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    fresh: bool = True,
    job_id: str | None = None,
    step_seconds: float | None = None,
    on_progress: ProgressFn | None = None,
    client: ShopifyClient | None = None,
) -> dict[str, dict[str, int]]:
    """One step of a backfill run: go on from its checkpoints until it is done (returns per
    resource the rows seen and written) or must wait (raises SyncWait).

    The first step of a start (`fresh`) starts the deadline's clock; a later step past the
    deadline fails the run (RunDeadline). `job_id` is the task carrying the run: when the run
    has been handed to a newer job, or superseded, this one stops (BackfillSuperseded)."""
    settings = res.settings
    _begin_step(settings, tenant_id, run_id, job_id, fresh)
    if fresh:
        forget_unusable(res, tenant_id, run_id)
    try:
        with tenant_lock(settings, tenant_id):
            if client is None:
                api = _admin_api(settings, tenant_id)
                client = ShopifyClient(
                    api, max_inline_wait=settings.sync_max_inline_wait, settings=settings
                )
            return _step(res, client, tenant_id, run_id, StepClock(step_seconds), on_progress)
    except BackfillBusy as exc:
        raise SyncWait(max(1.0, settings.bulk_poll_interval), "another backfill runs") from exc
    except ThrottleWait as exc:
        raise SyncWait(exc.seconds, "rate limit") from exc
    except SoftTimeLimitExceeded as exc:
        raise SyncWait(0.0, "step time limit reached") from exc


def _step(
    res: Resources,
    client: ShopifyClient,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    clock: StepClock,
    on_progress: ProgressFn | None,
) -> dict[str, dict[str, int]]:
    settings = res.settings
    with session_scope(settings.database_url) as session:
        run = _run(session, tenant_id, run_id)
        resources, since = list(run.resources), run.since
    try:
        for resource in resources:
            _backfill_resource(res, client, tenant_id, run_id, resource, since, on_progress, clock)
    except (SyncWait, ThrottleWait, SoftTimeLimitExceeded):
        raise  # the run goes on in a later step
    except BaseException as exc:
        _finish(settings, tenant_id, run_id, "failed", f"{type(exc).__name__}: {exc}"[:2000])
        raise
    _finish(settings, tenant_id, run_id, "completed", None)
    with session_scope(settings.database_url) as session:
        return {
            cp.resource: {"seen": cp.rows_seen, "written": cp.rows_written}
            for cp in session.scalars(
                tenant_select(BackfillCheckpoint, tenant_id=tenant_id).where(
                    BackfillCheckpoint.run_id == run_id
                )
            )
        }


def _begin_step(
    settings: Settings, tenant_id: uuid.UUID, run_id: uuid.UUID, job_id: str | None, fresh: bool
) -> None:
    """Mark the run running, or fail it when it is past its deadline."""
    with session_scope(settings.database_url) as session:
        run = _run(session, tenant_id, run_id)
        if run.status == "superseded" or (job_id and run.task_id not in (None, job_id)):
            raise BackfillSuperseded(f"run {run_id} is {run.status}, carried by {run.task_id}")
        late = None if fresh else overdue(settings, run.started_at)
        if fresh or run.started_at is None:
            run.started_at = func.now()
        run.status, run.error = ("failed", late) if late else ("running", None)
        if late:
            run.finished_at = func.now()
    if late:
        log.warning("backfill past its deadline", extra={"tenant": tenant_id, "run": run_id})
        raise RunDeadline(late)


def _admin_api(settings: Settings, tenant_id: uuid.UUID) -> AdminApi:
    with session_scope(settings.database_url) as session:
        return admin_api(session, tenant_id=tenant_id, secret_keys=settings.secret_keys)


def _run(session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID) -> BackfillRun:
    run = session.get(BackfillRun, (tenant_id, run_id))
    if run is None:
        raise BackfillError(f"no backfill run {run_id} for tenant {tenant_id}")
    return run


def _finish(
    settings: Settings, tenant_id: uuid.UUID, run_id: uuid.UUID, status: str, error: str | None
) -> None:
    with session_scope(settings.database_url) as session:
        run = _run(session, tenant_id, run_id)
        run.status, run.error, run.finished_at = status, error, func.now()


def _backfill_resource(
    res: Resources,
    client: ShopifyClient,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    resource: str,
    since: datetime | None,
    on_progress: ProgressFn | None,
    clock: StepClock,
) -> None:
    settings = res.settings
    key = (tenant_id, run_id, resource)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        status, op_id = cp.status, cp.bulk_operation_id
    if status == "completed":
        return
    directory = work_dir(settings, tenant_id, run_id, resource)
    op, buckets = split_result(res, client, key, op_id, since, directory)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)  # a replacement bulk operation starts over
        done, seen = cp.buckets_done, cp.rows_seen
    total = int(op.get("rootObjectCount") or 0)
    apply_split(
        res, key, directory, (done, buckets), (seen, total), op["id"], on_progress, client, clock
    )
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        cp.status, cp.updated_at = "completed", func.now()
        _advance_watermark(session, tenant_id, resource, since, cp.bulk_created_at)
    bulk_file.remove(directory)


def _advance_watermark(
    session: Session,
    tenant_id: uuid.UUID,
    resource: str,
    since: datetime | None,
    bulk_created_at: datetime | None,
) -> None:
    """Everything updated before the bulk operation started is now pulled (if contiguous)."""
    if bulk_created_at is None:
        return
    wm = table_of(SyncWatermark)
    current = session.scalar(
        select(wm.c.updated_since).where(wm.c.tenant_id == tenant_id, wm.c.resource == resource)
    )
    if since is not None and (current is None or current < since):
        return  # a gap before `since` was never pulled
    stmt = insert(wm).values(
        tenant_id=tenant_id, resource=resource, updated_since=bulk_created_at, source="backfill"
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "resource"],
            set_={
                "updated_since": func.greatest(wm.c.updated_since, stmt.excluded.updated_since),
                "source": stmt.excluded.source,
                "updated_at": func.now(),
            },
        )
    )
