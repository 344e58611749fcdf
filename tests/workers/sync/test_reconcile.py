"""Reconcile against the fake Admin API: repairs drift, reports it, pays for every query first."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import delete, select

from core.settings import Settings
from models import Order, ReconcileRun
from models.db import session_scope
from shops.credentials import admin_api
from shops.syncs import start_run
from tests.plugins.fake_admin import Wired
from tests.support.fake_admin import expected_orders, order_webhook, stored_orders
from tests.support.pipeline import drain_all
from tests.support.processes import celery_worker, send_task
from tests.support.webhooks import Sender
from workers.runtime import Resources, celery_config
from workers.sync.backfill import run_backfill
from workers.sync.client import ShopifyClient
from workers.sync.reconcile import reconcile_tenant

MONTHS = 40 * 86400


def numeric(node: dict[str, Any]) -> int:
    return int(node["id"].rsplit("/", 1)[1])


def runs(settings: Settings, tenant_id: uuid.UUID) -> list[ReconcileRun]:
    with session_scope(settings.database_url) as s:
        return list(s.scalars(select(ReconcileRun).where(ReconcileRun.tenant_id == tenant_id)))


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_reconcile_repairs_rows_missing_or_stale_behind_the_pipeline_s_back(
    settings: Settings, wire_shop: Any, client: FlaskClient
) -> None:
    wired = wire_shop()
    wired.shop.seed(orders=200, customers=40, products=5)
    settings = settings.with_overrides(bulk_poll_interval=0.1)
    with session_scope(settings.database_url) as session:
        run, _ = start_run(
            session, tenant_id=wired.tenant_id, resources=["customers", "orders"], since=None
        )
    run_backfill(Resources(settings), tenant_id=wired.tenant_id, run_id=run.id)
    orders = wired.shop.listing("Order")
    # Updates delivered as webhooks, then three of those rows deleted behind the pipeline's back.
    sender = Sender(client, shop=wired.shop.domain, secret=wired.secret)
    for node in orders[:6]:
        wired.shop.set_total(node["id"], Decimal("50.00"))
        assert sender.send("orders/updated", order_webhook(node)).status_code == 200
    drain_all(settings)
    with session_scope(settings.database_url) as s:
        s.execute(delete(Order).where(Order.shopify_id.in_([numeric(n) for n in orders[:3]])))
    # Updates and new orders whose webhooks never arrived.
    for node in orders[10:14]:
        wired.shop.set_total(node["id"], Decimal("77.00"))
    now = datetime.now(UTC)
    for _ in range(2):
        wired.shop.touch(wired.shop.add_order(now)["id"])
    customer = wired.shop.listing("Customer")[0]
    wired.shop.touch(customer["id"], firstName="Renamed")
    before = metric("cartwheel_reconcile_rows_total", resource="orders", finding="missing")

    summary = reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id)

    assert summary.status == "completed"
    assert (summary.missing, summary.stale) == (3 + 2, 4 + 1)
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)
    [recorded] = runs(settings, wired.tenant_id)
    assert (recorded.missing, recorded.stale, recorded.status) == (5, 5, "completed")
    assert recorded.progress["orders"]["missing"] == 5 and recorded.progress["orders"]["stale"] == 4
    assert recorded.progress["customers"]["stale"] == 1
    assert recorded.requests >= 4 and recorded.finished_at is not None
    after = metric("cartwheel_reconcile_rows_total", resource="orders", finding="missing")
    assert after - before == 5
    # Nothing drifted since: the next run finds nothing, and starts from the new watermark.
    again = reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id)
    assert (again.missing, again.stale, again.written) == (0, 0, 0)


def test_reconcile_never_sends_a_query_the_bucket_cannot_pay(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop(bucket_size=1000, restore_rate=1000.0)
    wired.shop.seed(orders=150, customers=30, products=5, checkouts=20)
    settings = settings.with_overrides(reconcile_lookback_seconds=MONTHS)
    summary = reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id)
    assert summary.status == "completed" and summary.missing == 150 + 30 + 5 + 20
    log = wired.bucket.log
    assert len(log) > 15
    assert not [e for e in log if e.throttled]
    assert all(e.available >= e.requested for e in log)
    # It ran close to the edge (a crawl would keep the bucket near its 1,000), and waited for
    # refills to get there. The bucket refills 1,000 a second, so the margin left also counts
    # the time the machine takes between two queries.
    assert min(e.available - e.requested for e in log) < 250
    [run] = runs(settings, wired.tenant_id)
    assert run.waited_seconds > 0 and run.throttled == 0
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)


def test_throttled_answers_are_retried_once_the_bucket_can_pay(
    settings: Settings, wire_shop: Any
) -> None:
    wired = wire_shop(bucket_size=1000, restore_rate=500.0)
    wired.shop.seed(orders=10, customers=5, products=1)
    with session_scope(settings.database_url) as s:
        api = admin_api(s, tenant_id=wired.tenant_id, secret_keys=settings.secret_keys)
    shopify = ShopifyClient(api)
    query = "{ customers(first: 250) { edges { node { id firstName } } } }"  # costs 252
    assert len(shopify.execute(query)["customers"]["edges"]) == 5
    wired.bucket.drain(1000)  # another client of the same app spends the bucket
    assert len(shopify.execute(query)["customers"]["edges"]) == 5
    assert shopify.throttled == 1
    assert [e.throttled for e in wired.bucket.log] == [False, True, False]
    assert wired.bucket.log[-1].available >= 252


def test_a_long_wait_reschedules_the_tenant_and_resumes_from_the_cursor(
    settings: Settings, wire_shop: Any
) -> None:
    wired: Wired = wire_shop(bucket_size=1000, restore_rate=400.0)
    wired.shop.seed(orders=100, customers=10, products=2)
    settings = settings.with_overrides(reconcile_lookback_seconds=MONTHS, sync_max_inline_wait=0.1)
    summary = reconcile_tenant(Resources(settings), tenant_id=wired.tenant_id)
    slices = 1
    while summary.status == "waiting":
        assert 0 < summary.retry_in < 5
        [run] = runs(settings, wired.tenant_id)
        assert run.status == "waiting" and run.finished_at is None
        time.sleep(summary.retry_in)
        summary = reconcile_tenant(
            Resources(settings), tenant_id=wired.tenant_id, run_id=summary.run_id
        )
        slices += 1
    assert slices > 2
    assert summary.status == "completed" and summary.missing == 100 + 10 + 2
    assert not [e for e in wired.bucket.log if e.throttled]
    assert stored_orders(settings, wired.tenant_id) == expected_orders(wired.shop)


def test_beat_entry_fans_out_one_task_per_tenant(
    settings: Settings, wire_shop: Any, tmp_path: Path
) -> None:
    assert (
        celery_config(settings)["beat_schedule"]["reconcile"]["task"] == "cartwheel.reconcile_all"
    )
    slow = wire_shop(bucket_size=1000, restore_rate=300.0)
    slow.shop.seed(orders=60, customers=5, products=1)
    fast = wire_shop()
    fast.shop.seed(orders=60, customers=5, products=1)
    settings = settings.with_overrides(reconcile_lookback_seconds=MONTHS, sync_max_inline_wait=0.1)
    with celery_worker(settings, tmp_path, concurrency=1) as worker:
        send_task(settings, "cartwheel.reconcile_all")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = [
                r
                for t in (slow, fast)
                for r in runs(settings, t.tenant_id)
                if r.status == "completed"
            ]
            if len(done) == 2:
                break
            time.sleep(0.2)
        log = worker.output()
    assert [r.status for r in runs(settings, slow.tenant_id)] == ["completed"]
    assert [r.status for r in runs(settings, fast.tenant_id)] == ["completed"]
    # One task per tenant, and the slow one gave its worker back while its bucket refilled.
    received = re.findall(r"Task cartwheel\.reconcile_tenant\[[^\]]+\] received", log)
    assert len(received) >= 2 + 2
    assert not [e for e in slow.bucket.log if e.throttled]
    assert stored_orders(settings, slow.tenant_id) == expected_orders(slow.shop)
    assert stored_orders(settings, fast.tenant_id) == expected_orders(fast.shop)
