"""Reconcile: pull what changed since the watermark (minus an overlap) and repair the drift.

Each tenant is reconciled by its own task with its own client and bucket. When the bucket needs
a longer wait than `sync_max_inline_wait`, or the step's time is up, the run saves its cursor,
ends as `waiting` and the task retries itself for when the bucket has refilled: no worker
sleeps on one tenant's budget while another tenant waits for a worker (see steps.py). A run
unfinished `sync_run_deadline` seconds after it started fails at its next step.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

import resources
from core.settings import Settings
from models import ReconcileRun, SyncWatermark
from models.base import table_of
from models.db import session_scope
from models.scoping import tenant_select
from resources.graphql import page_query, search_since
from resources.registry import Resource
from shops.credentials import admin_api, tenants_with_credentials
from shops.syncs import pullable
from workers.sync import metrics as sync_metrics
from workers.sync.client import ShopifyClient, ThrottleWait
from workers.sync.gather import complete_nested, from_page
from workers.sync.pulled import Drift, map_nodes, write_pulled
from workers.sync.steps import RunDeadline, StepClock, SyncWait, overdue

if TYPE_CHECKING:
    from workers.runtime import Resources

log = logging.getLogger(__name__)
STALE_RUN = timedelta(hours=1)


@dataclass
class ReconcileSummary:
    run_id: uuid.UUID
    status: str
    seen: int = 0
    missing: int = 0
    stale: int = 0
    written: int = 0
    retry_in: float = 0.0  # seconds, when status is "waiting"


def due_tenants(session: Session) -> list[uuid.UUID]:
    """Tenants with credentials and no live reconcile; runs silent for an hour count as dead."""
    runs = table_of(ReconcileRun)
    cutoff = datetime.now(UTC) - STALE_RUN
    session.execute(
        update(runs)
        .where(runs.c.status.in_(("running", "waiting")), runs.c.started_at < cutoff)
        .values(
            status="failed", error="abandoned (no progress for an hour)", finished_at=func.now()
        )
    )
    busy = set(
        session.scalars(select(runs.c.tenant_id).where(runs.c.status.in_(("running", "waiting"))))
    )
    return [t for t in tenants_with_credentials(session) if t not in busy]


def _initial_progress(
    session: Session, settings: Settings, tenant_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    marks: dict[str, datetime] = dict(
        session.execute(
            tenant_select(
                SyncWatermark,
                SyncWatermark.resource,
                SyncWatermark.updated_since,
                tenant_id=tenant_id,
            )
        ).all()
    )
    overlap = timedelta(seconds=settings.reconcile_overlap_seconds)
    lookback = timedelta(seconds=settings.reconcile_lookback_seconds)
    return {
        r: {
            "since": (marks[r] - overlap if r in marks else now - lookback).isoformat(),
            "pulled_at": now.isoformat(),
            "cursor": None,
            "done": False,
            **Drift().as_dict(),
        }
        for r in pullable()
    }


def reconcile_tenant(
    res: Resources,
    *,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID | None = None,
    max_inline_wait: float | None = None,
    client: ShopifyClient | None = None,
    step_seconds: float | None = None,
) -> ReconcileSummary:
    """Run (or continue) one reconcile of a tenant; never raises for a wait (the summary says
    `waiting` and for how long). A continued run past its deadline fails (RunDeadline)."""
    settings = res.settings
    started = time.perf_counter()
    with session_scope(settings.database_url) as session:
        run = _open_run(session, settings, tenant_id, run_id)
        run_id, progress, late = run.id, dict(run.progress), overdue(settings, run.started_at)
        api = admin_api(session, tenant_id=tenant_id, secret_keys=settings.secret_keys)
    wait = settings.sync_max_inline_wait if max_inline_wait is None else max_inline_wait
    client = client or ShopifyClient(api, max_inline_wait=wait, settings=settings)
    if late:
        _close(settings, tenant_id, run_id, client, "failed", late)
        sync_metrics.RECONCILE_RUNS.labels("failed").inc()
        raise RunDeadline(late)
    status, retry_in, clock = "completed", 0.0, StepClock(step_seconds)
    try:
        for name in pullable():
            if not progress[name]["done"]:
                _pull(res, client, tenant_id, run_id, resources.get(name), progress[name], clock)
    except (ThrottleWait, SyncWait) as exc:
        status, retry_in = "waiting", exc.seconds
    except SoftTimeLimitExceeded:
        status, retry_in = "waiting", 0.0
    except Exception as exc:
        _close(settings, tenant_id, run_id, client, "failed", f"{type(exc).__name__}: {exc}")
        sync_metrics.RECONCILE_RUNS.labels("failed").inc()
        raise
    finally:
        sync_metrics.RECONCILE_SECONDS.observe(time.perf_counter() - started)
        sync_metrics.THROTTLE_WAIT.inc(client.waited)
        sync_metrics.THROTTLED.inc(client.throttled)
    run = _close(settings, tenant_id, run_id, client, status, None)
    sync_metrics.RECONCILE_RUNS.labels(status).inc()
    return ReconcileSummary(run_id, status, run.seen, run.missing, run.stale, run.written, retry_in)


def _open_run(
    session: Session, settings: Settings, tenant_id: uuid.UUID, run_id: uuid.UUID | None
) -> ReconcileRun:
    if run_id is not None:
        run = session.get(ReconcileRun, (tenant_id, run_id), with_for_update=True)
        if run is None:
            raise LookupError(f"no reconcile run {run_id} for tenant {tenant_id}")
        run.status = "running"
        return run
    now = datetime.now(UTC)
    run = ReconcileRun(
        tenant_id=tenant_id,
        status="running",
        progress=_initial_progress(session, settings, tenant_id, now),
    )
    session.add(run)
    session.flush()
    return run


def _close(
    settings: Settings,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    client: ShopifyClient,
    status: str,
    error: str | None,
) -> ReconcileRun:
    with session_scope(settings.database_url) as session:
        run = session.get(ReconcileRun, (tenant_id, run_id), with_for_update=True)
        assert run is not None
        run.status, run.error = status, error and error[:2000]
        run.requests += client.requests_sent
        run.throttled += client.throttled
        run.waited_seconds += client.waited
        if status != "waiting":
            run.finished_at = datetime.now(UTC)
    client.requests_sent = client.throttled = 0
    client.waited = 0.0
    return run


def _pull(
    res: Resources,
    client: ShopifyClient,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    resource: Resource,
    state: dict[str, Any],
    clock: StepClock,
) -> None:
    """Page through one resource from its cursor; each page commits with its progress, and
    the step ends between pages once its time is up."""
    pull, settings = resource.pull, res.settings
    assert pull is not None
    query = page_query(pull)
    search = search_since(datetime.fromisoformat(state["since"]))
    while True:
        variables = {"first": pull.page_size, "after": state["cursor"], "query": search}
        connection = client.execute(query, variables)[pull.connection]
        nodes = [from_page(client, pull, edge["node"]) for edge in connection["edges"]]
        complete_nested(client, pull, nodes)
        rows = map_nodes(resource, nodes, tenant_id=tenant_id, source=f"reconcile:{run_id}")
        info = connection["pageInfo"]
        more = bool(info["hasNextPage"])
        with session_scope(settings.database_url) as session:
            outcome = write_pulled(session, rows)
            state["cursor"] = info["endCursor"] or state["cursor"]
            state["done"] = not more
            for finding, count in outcome.as_dict().items():
                state[finding] += count
            _save_progress(session, tenant_id, run_id, resource.name, state, outcome)
            if not more:
                _advance_watermark(session, tenant_id, resource.name, state["pulled_at"])
        if outcome.written:
            res.bump_versions([tenant_id])
        for finding, count in outcome.as_dict().items():
            sync_metrics.RECONCILE_ROWS.labels(resource.name, finding).inc(count)
        if not more:
            return
        clock.check()


def _save_progress(
    session: Session,
    tenant_id: uuid.UUID,
    run_id: uuid.UUID,
    resource: str,
    state: dict[str, Any],
    outcome: Drift,
) -> None:
    run = session.get(ReconcileRun, (tenant_id, run_id), with_for_update=True)
    if run is None:
        raise LookupError(f"reconcile run {run_id} vanished")
    run.progress = {**run.progress, resource: dict(state)}
    run.seen += outcome.seen
    run.missing += outcome.missing
    run.stale += outcome.stale
    run.written += outcome.written


def _advance_watermark(
    session: Session, tenant_id: uuid.UUID, resource: str, pulled_at: str
) -> None:
    """Everything updated before this pull started has now been seen."""
    wm = table_of(SyncWatermark)
    stmt = insert(wm).values(
        tenant_id=tenant_id,
        resource=resource,
        updated_since=datetime.fromisoformat(pulled_at),
        source="reconcile",
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
