"""Backfill: per resource one bulk operation, its result split on disk, applied bucket by bucket.

Each bucket is written in one transaction together with its checkpoint, so an interrupted
backfill (Ctrl-C, a killed worker) resumes at the first unapplied bucket without writing any
row twice; rows go through the webhooks' last-writer-wins path (writes.pulled).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.settings import Settings
from models import BackfillCheckpoint, BackfillRun, SyncWatermark
from models.base import table_of
from models.db import get_engine, session_scope
from models.scoping import tenant_select
from resources.graphql import BULK_BY_ID
from shops.credentials import admin_api
from shops.syncs import BackfillError
from workers.sync import bulk_file
from workers.sync.buckets import (
    ProgressFn,
    apply_split,
    load_checkpoint,
    save_checkpoint,
    work_dir,
)
from workers.sync.bulk import parse_shopify_time, start_bulk, wait_bulk
from workers.sync.client import ResultExpired, ShopifyClient

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)


class BackfillBusy(BackfillError):
    """Another backfill of the same tenant holds the lock."""


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
    """Run (or resume) a backfill; returns per resource the rows seen and written."""
    settings = res.settings
    with tenant_lock(settings, tenant_id):
        with session_scope(settings.database_url) as session:
            run = _run(session, tenant_id, run_id)
            resources, since = list(run.resources), run.since
            run.status, run.error = "running", None
            run.started_at = run.started_at or func.now()
            api = admin_api(session, tenant_id=tenant_id, secret_keys=settings.secret_keys)
        client = client or ShopifyClient(api)
        try:
            for resource in resources:
                _backfill_resource(res, client, tenant_id, run_id, resource, since, on_progress)
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
) -> None:
    settings = res.settings
    key = (tenant_id, run_id, resource)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        status, op_id = cp.status, cp.bulk_operation_id
    if status == "completed":
        return
    directory = work_dir(settings, tenant_id, run_id, resource)
    op, buckets = _result(settings, client, key, op_id, since, directory)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)  # a replacement bulk operation starts over
        done, seen = cp.buckets_done, cp.rows_seen
    total = int(op.get("rootObjectCount") or 0)
    apply_split(res, key, directory, (done, buckets), (seen, total), op["id"], on_progress, client)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        cp.status, cp.updated_at = "completed", func.now()
        _advance_watermark(session, tenant_id, resource, since, cp.bulk_created_at)
    bulk_file.remove(directory)


def _result(
    settings: Settings,
    client: ShopifyClient,
    key: tuple[uuid.UUID, uuid.UUID, str],
    op_id: str | None,
    since: datetime | None,
    directory: Path,
) -> tuple[dict[str, Any], int]:
    """A completed bulk operation whose result is split on disk, and its bucket count."""
    resource = key[2]
    for _ in range(3):
        if op_id is None:
            started = start_bulk(settings, client, resource, since)
            op_id = str(started["id"])
            save_checkpoint(
                settings,
                key,
                bulk_operation_id=op_id,
                bulk_created_at=parse_shopify_time(started["createdAt"]),
                status="bulk_running",
                buckets_done=0,
                bucket_count=None,
                lines_done=0,
                rows_seen=0,
                rows_written=0,
            )
        op = wait_bulk(settings, client, key[0], op_id)
        if op["status"] == "COMPLETED":
            buckets = bulk_file.completed_split(directory, op_id)
            if buckets is None:
                buckets = _split(settings, client, op, directory)
            if buckets is not None:
                save_checkpoint(
                    settings,
                    key,
                    status="applying",
                    bucket_count=buckets,
                    object_count=int(op.get("objectCount") or 0),
                    root_object_count=int(op.get("rootObjectCount") or 0),
                )
                return op, buckets
        if op["status"] == "FAILED" and op.get("errorCode") == "ACCESS_DENIED":
            raise BackfillError(f"{resource}: bulk operation denied (missing access scope)")
        log.warning(
            "bulk operation unusable, starting another",
            extra={"resource": resource, "status": op["status"], "error_code": op.get("errorCode")},
        )
        op_id = None
    raise BackfillError(f"{resource}: no usable bulk operation after 3 attempts")


def _split(
    settings: Settings, client: ShopifyClient, op: dict[str, Any], directory: Path
) -> int | None:
    """Download and split a result; None when its URL has expired for good."""
    if not op.get("url") or not int(op.get("objectCount") or 0):
        bulk_file.split([], directory, 1, op["id"])
        return 1
    buckets = bulk_file.bucket_count(int(op.get("fileSize") or 0), settings.backfill_bucket_bytes)
    url = op["url"]
    for _ in range(3):
        try:
            bulk_file.split(client.stream_lines(url), directory, buckets, op["id"])
            return buckets
        except ResultExpired:
            fresh = client.execute(BULK_BY_ID, {"id": op["id"]}).get("bulkOperation") or {}
            if fresh.get("status") != "COMPLETED" or not fresh.get("url"):
                return None
            url = fresh["url"]
    return None


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
