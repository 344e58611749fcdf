"""Sync jobs never stall anyone else: their own queue and pool, steps that retry instead of
sleeping, a deadline per run, time limits on every task."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cartwheel import launcher
from cartwheel.supervisor import read_procfile
from core import jobs
from core.settings import Settings
from models import BackfillCheckpoint, BackfillRun, Order, ReconcileRun
from models.db import session_scope
from shops.credentials import AdminApi
from shops.syncs import start_run
from tests.plugins.fake_admin import Wired
from tests.support.fake_admin import Canned
from tests.support.processes import ROOT, Proc, celery_beat, child_env
from tests.support.samples import sample_body
from tests.support.webhooks import Sender
from workers.runtime import LIMITS, Resources, app, celery_config, metrics_settings
from workers.sync.backfill import backfill_step, run_backfill
from workers.sync.client import ShopifyClient
from workers.sync.reconcile import reconcile_tenant
from workers.sync.steps import RunDeadline, SyncWait

STAYS_RUNNING = 3600.0  # seconds the fake's bulk operations take: longer than any test


@contextmanager
def pool(settings: Settings, log_dir: Path, queue: str, name: str) -> Iterator[Proc]:
    """One Celery worker process consuming one queue, as a Procfile line starts it."""
    args = [
        sys.executable, "-m", "celery", "-A", "workers.runtime", "worker", "-Q", queue,
        "-n", f"{name}@%h", "--concurrency", "1",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
    ]  # fmt: skip
    env = child_env(settings, CARTWHEEL_WORKER_METRICS_PORT="0", CARTWHEEL_SYNC_METRICS_PORT="0")
    proc = Proc(args, env, log_dir / f"{name}.log")
    try:
        proc.wait_for("ready.")
        yield proc
    finally:
        proc.stop()


def start_backfill(settings: Settings, wired: Wired) -> uuid.UUID:
    """Create a backfill run and queue its job, as the dashboard API does."""
    job_id = jobs.new_job_id()
    with session_scope(settings.database_url) as session:
        run, _ = start_run(
            session, tenant_id=wired.tenant_id, resources=["orders"], since=None, job_id=job_id
        )
        run_id = run.id
    producer = jobs.Producer(settings)
    try:
        producer.enqueue(
            jobs.BACKFILL, {"tenant_id": str(wired.tenant_id), "run_id": str(run_id)}, job_id=job_id
        )
    finally:
        producer.close()
    return run_id


def checkpoint(settings: Settings, run_id: uuid.UUID) -> BackfillCheckpoint:
    with session_scope(settings.database_url) as session:
        cp = session.scalars(select(BackfillCheckpoint).where(BackfillCheckpoint.run_id == run_id))
        found = cp.one()
        session.expunge(found)
        return found


def backfill_run(settings: Settings, run_id: uuid.UUID) -> BackfillRun:
    with session_scope(settings.database_url) as session:
        run = session.scalars(select(BackfillRun).where(BackfillRun.id == run_id)).one()
        session.expunge(run)
        return run


def orders_of(settings: Settings, tenant_id: uuid.UUID) -> int:
    with session_scope(settings.database_url) as session:
        stmt = select(func.count()).select_from(Order).where(Order.tenant_id == tenant_id)
        return int(session.scalar(stmt) or 0)


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def retries(log: str, task_id: str) -> int:
    return len(re.findall(rf"Task cartwheel\.backfill\[{task_id}\] retry: Retry in", log))


def test_backfills_stuck_on_a_running_bulk_operation_leave_other_tenants_fast(
    settings: Settings, wire_shop: Any, sender: Sender, tenant: dict[str, Any], tmp_path: Path
) -> None:
    # Two tenants start backfills against bulk operations that stay RUNNING, with one drain
    # process and one sync process, as `cartwheel run` starts them; a third tenant's order
    # must still reach its table. Sleeping in `wait_bulk` on the drain's queue, it never did.
    settings = settings.with_overrides(bulk_poll_interval=0.5)
    attackers = [wire_shop(), wire_shop()]
    for wired in attackers:
        wired.shop.seed(orders=5, customers=2, products=1)
    attackers[0].fake.bulk.settings.run_seconds = STAYS_RUNNING
    with (
        pool(settings, tmp_path, jobs.tasks_queue(settings), "drain") as drain,
        pool(settings, tmp_path, jobs.sync_queue(settings), "sync") as sync,
        celery_beat(settings, tmp_path),
    ):
        runs = [start_backfill(settings, wired) for wired in attackers]
        task_ids = [backfill_run(settings, run_id).task_id or "" for run_id in runs]
        wait_until(
            lambda: any(checkpoint(settings, r).status == "bulk_running" for r in runs),
            30,
            f"no backfill reached its bulk operation:\n{sync.output()[-3000:]}",
        )
        sent = time.monotonic()
        reply = sender.send("orders/create", sample_body("orders_create"))
        assert reply.status_code == 200
        wait_until(
            lambda: orders_of(settings, tenant["id"]) == 1,
            15,
            f"victim's order not visible:\n{drain.output()[-3000:]}",
        )
        visible_after = time.monotonic() - sent
        # Both runs keep looking at their operations, taking turns on one sync process.
        wait_until(
            lambda: all(retries(sync.output(), t) >= 2 for t in task_ids),
            30,
            f"both backfills retrying:\n{sync.output()[-3000:]}",
        )
        assert all(checkpoint(settings, r).status == "bulk_running" for r in runs)
        assert [backfill_run(settings, r).status for r in runs] == ["running", "running"]
        assert "Task cartwheel.backfill[" not in drain.output()  # the drain took no sync job
    assert visible_after < 15


def test_a_backfill_retries_while_its_bulk_operation_runs_then_finishes_from_its_checkpoint(
    settings: Settings, wire_shop: Any, tmp_path: Path
) -> None:
    settings = settings.with_overrides(bulk_poll_interval=0.3)
    wired = wire_shop()
    wired.shop.seed(orders=40, customers=5, products=2)
    wired.fake.bulk.settings.run_seconds = 3.0
    with pool(settings, tmp_path, jobs.sync_queue(settings), "sync") as sync:
        run_id = start_backfill(settings, wired)
        wait_until(
            lambda: backfill_run(settings, run_id).status == "completed",
            60,
            f"backfill not completed:\n{sync.output()[-3000:]}",
        )
        log = sync.output()
    task_id = backfill_run(settings, run_id).task_id or ""
    assert retries(log, task_id) >= 3  # one look per execution, a countdown in between
    assert len(wired.fake.bulk.ops) == 1  # each retry went on with the same operation
    cp = checkpoint(settings, run_id)
    assert (cp.status, cp.rows_seen) == ("completed", 40)
    assert orders_of(settings, wired.tenant_id) == 40


def test_a_run_past_its_deadline_fails_clearly_and_resumes_from_its_checkpoint(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=30, customers=5, products=2)
    wired.fake.bulk.settings.run_seconds = 4.0
    short = settings.with_overrides(bulk_poll_interval=0.2, sync_run_deadline=1.0)
    with session_scope(settings.database_url) as session:
        run, _ = start_run(session, tenant_id=wired.tenant_id, resources=["orders"], since=None)
        run_id = run.id
    with pytest.raises(RunDeadline, match="deadline exceeded"):
        run_backfill(Resources(short), tenant_id=wired.tenant_id, run_id=run_id)
    failed = backfill_run(settings, run_id)
    assert failed.status == "failed"
    assert failed.error is not None and "deadline exceeded" in failed.error
    assert "CARTWHEEL_SYNC_RUN_DEADLINE" in failed.error
    kept = checkpoint(settings, run_id)
    assert kept.status == "bulk_running" and kept.bulk_operation_id

    # Started again, the run resumes with the same bulk operation and completes.
    with session_scope(settings.database_url) as session:
        again, resumed = start_run(
            session, tenant_id=wired.tenant_id, resources=["orders"], since=None
        )
    assert resumed and again.id == run_id
    fast = settings.with_overrides(bulk_poll_interval=0.2)
    summary = run_backfill(Resources(fast), tenant_id=wired.tenant_id, run_id=run_id)
    assert summary["orders"]["seen"] == 30
    assert len(wired.fake.bulk.ops) == 1
    assert backfill_run(settings, run_id).status == "completed"


def test_every_task_has_time_limits_sized_for_its_kind() -> None:
    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.startswith("cartwheel.")}
    assert set(ours) == set(jobs.JOBS)
    for name, task in ours.items():
        assert task.soft_time_limit == LIMITS[name].soft, name
        assert task.time_limit == LIMITS[name].hard > task.soft_time_limit, name
    assert app.tasks[jobs.DRAIN].time_limit <= 180  # a drain tick is short
    # A sync step hands its process back within minutes, whatever the run's length.
    assert all(app.tasks[name].time_limit <= 660 for name in jobs.SYNC_JOBS)


def test_sync_jobs_travel_on_their_own_queue(settings: Settings) -> None:
    routes = celery_config(settings)["task_routes"]
    sync = {name for name, route in routes.items() if route["queue"] == jobs.sync_queue(settings)}
    admin_api = {jobs.BACKFILL, jobs.RECONCILE_ALL, jobs.RECONCILE_TENANT, jobs.REFRESH}
    # Heavy per-shop computations share the pool: they must not delay a drain either.
    computed = {jobs.ANALYTICS_ALL, jobs.ANALYTICS_TENANT, jobs.CLV_FIT_ALL, jobs.CLV_FIT}
    computed |= {jobs.REBUILD_ROLLUPS}
    assert sync == admin_api | computed == jobs.SYNC_JOBS
    assert routes[jobs.DRAIN]["queue"] == jobs.tasks_queue(settings) != jobs.sync_queue(settings)
    assert jobs.queues(settings) == sorted([jobs.tasks_queue(settings), jobs.sync_queue(settings)])


def test_the_procfile_and_the_launcher_start_a_sync_pool_apart_from_the_drain() -> None:
    procfile = read_procfile(ROOT / "Procfile")
    queue = re.compile(r"-Q (\S+)")
    assert queue.findall(procfile["worker"]) == ["${CARTWHEEL_NAMESPACE:-cartwheel}-tasks"]
    assert queue.findall(procfile["sync"]) == ["${CARTWHEEL_NAMESPACE:-cartwheel}-sync"]
    settings = Settings(database_url="", redis_url="", secret_keys="")
    ready = launcher._ready_urls(launcher.Options(), settings, procfile)
    assert ready["sync"] == f"http://127.0.0.1:{settings.sync_metrics_port}/metrics"
    assert ready["worker"] == f"http://127.0.0.1:{settings.worker_metrics_port}/metrics"
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"^  sync:\n(?:    .*\n|\n)*?      - cartwheel-sync$", compose, re.M)


def test_a_sync_only_worker_serves_its_metrics_on_its_own_port(settings: Settings) -> None:
    sync_only = metrics_settings(settings, {jobs.sync_queue(settings)})
    both = metrics_settings(settings, set(jobs.queues(settings)))
    assert sync_only.worker_metrics_port == settings.sync_metrics_port
    assert both.worker_metrics_port == settings.worker_metrics_port


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "30"}, 30.0),
        (503, {"Retry-After": "12"}, 12.0),
    ],
    ids=["429-retry-after", "503-retry-after"],
)
def test_a_retry_after_ends_the_step_instead_of_sleeping_in_the_worker(
    settings: Settings,
    make_tenant: Any,
    status: int,
    headers: dict[str, str],
    expected: float,
) -> None:
    tenant = make_tenant()
    with session_scope(settings.database_url) as session:
        run, _ = start_run(session, tenant_id=tenant["id"], resources=["orders"], since=None)
        run_id = run.id
    with Canned(lambda path: (status, headers, [b"{}"])) as server:
        api = AdminApi(
            tenant_id=tenant["id"],
            shop_domain=tenant["shop"],
            graphql_url=f"{server.url}/admin/api/2026-07/graphql.json",
            access_token="shpat_x",
            api_version="2026-07",
            operator_url=server.url,
        )
        client = ShopifyClient(api, max_inline_wait=settings.sync_max_inline_wait)
        with pytest.raises(SyncWait) as waited:
            backfill_step(Resources(settings), tenant_id=tenant["id"], run_id=run_id, client=client)
        client.http.close()
    assert waited.value.seconds == expected
    assert len(server.requests) == 1  # asked once, then handed the wait to the task
    assert backfill_run(settings, run_id).status == "running"  # the run goes on later


def test_a_reconcile_continued_past_its_deadline_fails_clearly(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=5, customers=2, products=1)
    first = reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id)
    with session_scope(settings.database_url) as session:
        run = session.get(ReconcileRun, (wired.tenant_id, first.run_id))
        assert run is not None
        run.started_at = datetime.now(UTC) - timedelta(seconds=settings.sync_run_deadline + 60)
    with pytest.raises(RunDeadline, match="deadline exceeded"):
        reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id, run_id=first.run_id)
    with session_scope(settings.database_url) as session:
        late = session.get(ReconcileRun, (wired.tenant_id, first.run_id))
        assert late is not None and late.status == "failed"
        assert late.error is not None and "CARTWHEEL_SYNC_RUN_DEADLINE" in late.error
