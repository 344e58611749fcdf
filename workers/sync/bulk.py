"""Bulk query operations: start one when a slot is free, look whether it has finished, split
its result on disk for the backfill."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

import resources
from core.errors import CartwheelError
from core.settings import Settings
from models import WebhookEvent
from models.base import table_of
from models.db import session_scope
from resources.graphql import BULK_BY_ID, RUN_BULK, bulk_query
from shops.syncs import BackfillError
from workers.sync import bulk_file
from workers.sync.buckets import save_checkpoint
from workers.sync.client import ResultExpired, ShopifyClient
from workers.sync.steps import SyncWait

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)
ACTIVE_BULK = ("CREATED", "RUNNING", "CANCELING")
MAX_BULK_ATTEMPTS = 3  # bulk operations one resource of a run may use up


class BulkOperationError(CartwheelError):
    """Shopify refused to start a bulk operation, or lost it."""


def parse_shopify_time(value: str) -> datetime:
    """A DateTime scalar (`2026-11-26T12:00:00Z`) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def start_bulk(
    settings: Settings, client: ShopifyClient, resource: str, since: datetime | None
) -> dict[str, Any]:
    """Start a bulk query; raises SyncWait while the shop's bulk slots are taken."""
    pull = resources.get(resource).pull
    assert pull is not None
    query = bulk_query(pull, since)
    result = client.execute(RUN_BULK, {"query": query})["bulkOperationRunQuery"]
    errors = result.get("userErrors") or []
    if not errors:
        return dict(result["bulkOperation"])
    if any("already" in str(e.get("message")) for e in errors):
        log.info("bulk slot taken, waiting", extra={"resource": resource})
        raise SyncWait(settings.bulk_poll_interval, "bulk slot taken")
    raise BulkOperationError("; ".join(str(e.get("message")) for e in errors))


def poll_bulk(settings: Settings, client: ShopifyClient, op_id: str) -> dict[str, Any]:
    """The operation once it has left CREATED/RUNNING; raises SyncWait while it has not.

    One look per call: the caller waits between looks (a task by retrying with the countdown,
    the command line by sleeping, cut short by the operation's finish webhook)."""
    op = client.execute(BULK_BY_ID, {"id": op_id}).get("bulkOperation")
    if op is None:
        raise BulkOperationError(f"bulk operation {op_id} is unknown to the shop")
    if op["status"] in ACTIVE_BULK:
        raise SyncWait(settings.bulk_poll_interval, "bulk operation running", bulk_operation=op_id)
    return dict(op)


def wait_inline(settings: Settings, tenant_id: uuid.UUID, wait: SyncWait) -> None:
    """Sleep through a wait in a process of its own (the command line, tests, benchmarks); a
    bulk operation's finish webhook cuts the wait short."""
    until = time.monotonic() + wait.seconds
    while time.monotonic() < until:
        if wait.bulk_operation and finish_notified(settings, tenant_id, wait.bulk_operation):
            return
        time.sleep(max(0.0, min(0.25, until - time.monotonic())))


def finish_notified(settings: Settings, tenant_id: uuid.UUID, op_id: str) -> bool:
    """Whether the bulk_operations/finish webhook for this operation has been ingested."""
    ev = table_of(WebhookEvent)
    with session_scope(settings.database_url) as session:
        found = session.scalar(
            select(func.count())
            .select_from(ev)
            .where(
                ev.c.tenant_id == tenant_id,
                ev.c.topic == "bulk_operations/finish",
                ev.c.payload["admin_graphql_api_id"].astext == op_id,
            )
        )
    return bool(found)


def split_result(
    res: Resources,
    client: ShopifyClient,
    key: tuple[uuid.UUID, uuid.UUID, str],
    op_id: str | None,
    since: datetime | None,
    directory: Path,
) -> tuple[dict[str, Any], int]:
    """A completed bulk operation whose result is split on disk, and its bucket count; starts
    the operation when the checkpoint has none, raises SyncWait while it runs.

    An unusable operation (failed, canceled, its result gone) is replaced by another, at most
    twice per run and resource: the count is kept in Redis because the replacement's wait
    spans steps."""
    settings, resource = res.settings, key[2]
    while True:
        if op_id is None:
            op_id = _start(settings, client, key, since)
        op = poll_bulk(settings, client, op_id)
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
        if _replaced(res, key) >= MAX_BULK_ATTEMPTS:
            raise BackfillError(
                f"{resource}: no usable bulk operation after {MAX_BULK_ATTEMPTS} attempts"
            )
        log.warning(
            "bulk operation unusable, starting another",
            extra={"resource": resource, "status": op["status"], "error_code": op.get("errorCode")},
        )
        op_id = None


def _start(
    settings: Settings,
    client: ShopifyClient,
    key: tuple[uuid.UUID, uuid.UUID, str],
    since: datetime | None,
) -> str:
    started = start_bulk(settings, client, key[2], since)
    save_checkpoint(
        settings,
        key,
        bulk_operation_id=str(started["id"]),
        bulk_created_at=parse_shopify_time(started["createdAt"]),
        status="bulk_running",
        buckets_done=0,
        bucket_count=None,
        lines_done=0,
        rows_seen=0,
        rows_written=0,
    )
    return str(started["id"])


def _replaced(res: Resources, key: tuple[uuid.UUID, uuid.UUID, str]) -> int:
    """Count one more unusable operation of this run and resource; returns how many so far."""
    name = _unusable_key(res, key[0], key[1])
    count = int(res.redis.hincrby(name, key[2], 1))
    res.redis.expire(name, int(res.settings.sync_run_deadline) + 3600)
    return count


def forget_unusable(res: Resources, tenant_id: uuid.UUID, run_id: uuid.UUID) -> None:
    """A run started again gets its attempts afresh."""
    res.redis.delete(_unusable_key(res, tenant_id, run_id))


def _unusable_key(res: Resources, tenant_id: uuid.UUID, run_id: uuid.UUID) -> str:
    return f"{res.settings.namespace}:backfill-unusable:{tenant_id}:{run_id}"


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
