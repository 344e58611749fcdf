"""Apply a split bulk result bucket by bucket: each bucket and its checkpoint in one transaction.

Shared by the backfill (results downloaded from Shopify) and `apply_result_file` (a result
already on disk, which the bench uses).
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, text
from sqlalchemy.orm import Session

import resources
from core.errors import CartwheelError
from core.settings import Settings
from models import BackfillCheckpoint
from models.db import session_scope
from resources import graphql as gql
from workers.sync import bulk_file
from workers.sync import metrics as sync_metrics
from workers.sync.gather import Client, complete_nested, from_bulk
from workers.sync.pulled import Drift, map_nodes, write_pulled
from workers.sync.steps import StepClock

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)
CHUNK = 1000
ProgressFn = Callable[[str, int, int], None]  # resource, rows done, rows expected
Key = tuple[uuid.UUID, uuid.UUID, str]  # tenant, run, resource


class CheckpointError(CartwheelError):
    """The checkpoint is not where this process left it (another backfill of the run?)."""


def load_checkpoint(
    session: Session, tenant_id: uuid.UUID, run_id: uuid.UUID, resource: str
) -> Any:
    """A checkpoint row, locked for this transaction."""
    cp = session.get(BackfillCheckpoint, (tenant_id, run_id, resource), with_for_update=True)
    if cp is None:
        raise CheckpointError(f"run {run_id} has no checkpoint for {resource}")
    return cp


def save_checkpoint(settings: Settings, key: Key, **values: Any) -> None:
    """Set checkpoint columns in a transaction of their own."""
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        for name, value in values.items():
            setattr(cp, name, value)
        cp.updated_at = func.now()


def apply_split(
    res: Resources,
    key: Key,
    directory: Path,
    buckets: tuple[int, int],
    rows: tuple[int, int],
    tag: str,
    on_progress: ProgressFn | None,
    client: Client | None,
    clock: StepClock | None = None,
) -> None:
    """Apply buckets `done..count-1` of a split, reporting rows done out of rows expected.

    `client` reads what the result could not hold (the connections of list items); without
    one, a result that needs it fails rather than writing those items without their parts.
    Once `clock` says the step's time is up, the step ends after the bucket in hand (SyncWait)
    and a later one goes on from the checkpoint."""
    (done, count), (seen, total) = buckets, rows
    resource, settings = key[2], res.settings
    if on_progress:
        on_progress(resource, seen, total)
    for index in range(done, count):
        seen = _apply_bucket(res, key, directory, index, seen, tag, client)
        if index == done and count - done > 1:
            _analyze(settings, resource)
        if on_progress:
            on_progress(resource, seen, total)
        if clock is not None and index + 1 < count:
            clock.check()


def apply_result_file(
    res: Resources,
    *,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    resource: str,
    path: Path,
    on_progress: ProgressFn | None = None,
    client: Client | None = None,
) -> int:
    """Apply a bulk result already on disk (e.g. downloaded earlier) exactly as a backfill
    would, bucket by bucket with checkpoints; returns the root objects applied."""
    settings = res.settings
    key = (tenant_id, run_id, resource)
    directory = work_dir(settings, tenant_id, run_id, resource)
    tag = f"file:{path.resolve()}"
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        done, seen, known = cp.buckets_done, cp.rows_seen, cp.bulk_operation_id == tag
    buckets = bulk_file.completed_split(directory, tag) if known else None
    if buckets is None:
        buckets = bulk_file.bucket_count(path.stat().st_size, settings.backfill_bucket_bytes)
        with path.open("rb") as lines:
            bulk_file.split(lines, directory, buckets, tag)
        done = seen = 0
        save_checkpoint(
            settings,
            key,
            bulk_operation_id=tag,
            status="applying",
            bucket_count=buckets,
            buckets_done=0,
            lines_done=0,
            rows_seen=0,
            rows_written=0,
        )
    apply_split(res, key, directory, (done, buckets), (seen, 0), tag, on_progress, client)
    with session_scope(settings.database_url) as session:
        cp = load_checkpoint(session, *key)
        cp.status, cp.updated_at, applied = "completed", func.now(), cp.rows_seen
    bulk_file.remove(directory)
    return int(applied)


def _analyze(settings: Settings, resource: str) -> None:
    """Refresh planner statistics after the first bucket.

    Into freshly created tables PostgreSQL plans the foreign-key checks of the child rows
    (line items -> orders) as sequential scans of a table it believes empty, and keeps those
    plans: each later bucket then scans every order per line item. Fresh statistics invalidate
    the cached plans.
    """
    entry = resources.get(resource)
    tables = [entry.table.name]
    tables += [spec.table.name for spec in entry.children]
    with session_scope(settings.database_url) as session:
        session.execute(text(f"ANALYZE {', '.join(tables)}"))


def _apply_bucket(
    res: Resources,
    key: Key,
    directory: Path,
    index: int,
    seen: int,
    op_id: str,
    client: Client | None,
) -> int:
    """Join, map and write one bucket, and advance the checkpoint, in one transaction."""
    tenant_id, run_id, resource = key
    settings = res.settings
    pairs, lines, orphans = bulk_file.read_bucket(directory, index)
    if orphans:
        log.warning(
            "bulk children without a parent", extra={"resource": resource, "count": orphans}
        )
    entry = resources.get(resource)
    assert entry.pull is not None
    nodes = [from_bulk(entry.pull, node, lines) for node, lines in pairs]
    if any(gql.items(n.get(nested.name)) for nested in entry.pull.nested for n in nodes):
        if client is None:
            raise CheckpointError(f"{resource}: this result needs the Admin API to complete")
        complete_nested(client, entry.pull, nodes)
    rows = map_nodes(entry, nodes, tenant_id=tenant_id, source=f"backfill:{run_id}")
    outcome = Drift()
    with session_scope(settings.database_url) as session:
        for start in range(0, len(rows), CHUNK):
            outcome.add(write_pulled(session, rows[start : start + CHUNK]))
        cp = load_checkpoint(session, *key)
        if cp.buckets_done != index or cp.bulk_operation_id != op_id:
            raise CheckpointError("checkpoint moved under this backfill (is another one running?)")
        cp.buckets_done = index + 1
        cp.lines_done += lines
        cp.rows_seen += len(pairs)
        cp.rows_written += outcome.written
        cp.updated_at = func.now()
    if outcome.written:
        res.bump_versions([tenant_id])
    sync_metrics.BACKFILL_ROWS.labels(resource, "seen").inc(len(pairs))
    sync_metrics.BACKFILL_ROWS.labels(resource, "written").inc(outcome.written)
    return seen + len(pairs)


def work_dir(settings: Settings, tenant_id: uuid.UUID, run_id: uuid.UUID, resource: str) -> Path:
    """Where a resource's bulk result is split while its backfill runs."""
    base = Path(settings.backfill_dir or tempfile.gettempdir()) / "cartwheel-backfill"
    return base / str(tenant_id) / str(run_id) / resource
