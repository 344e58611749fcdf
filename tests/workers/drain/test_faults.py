"""Faults: a worker killed mid-batch, Redis gone, PostgreSQL gone.

Nothing accepted is lost or applied twice, and the tables end up as if nothing had happened.
The worker is killed while it is provably inside a batch: a lock this test holds on `orders`
stops it after it has read a batch and written part of it, uncommitted and unacknowledged.
Redis and PostgreSQL that get killed are servers of the test's own, never the machine's.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import select, text

from cartwheel.migrate import upgrade
from core.errors import TransientError
from core.settings import Settings
from core.wire import StreamWriter, consumer_group, stream_keys
from models import WebhookEvent
from models.db import get_engine, session_scope
from receiver import create_app
from shops.registration import add_tenant
from tests.support.faults_events import (
    EventSet,
    assert_streams_empty,
    assert_tables_match,
    logged_ids,
    post_envelopes,
    wait_until,
)
from tests.support.faults_services import postgres_server, redis_server
from tests.support.pipeline import drain_all
from tests.support.processes import celery_worker, send_task
from tests.support.services import free_port
from tests.support.webhooks import Sender
from workers.drain.loop import drain, process, reclaim
from workers.runtime import Resources

pytestmark = pytest.mark.slow

# Backends of this database waiting for a lock on the orders table.
_WAITING_ON_ORDERS = text(
    "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
    "WHERE d.datname = current_database() AND l.locktype = 'relation' "
    "AND l.relation = 'orders'::regclass AND NOT l.granted"
)


def pending_entries(client: redis.Redis, settings: Settings) -> set[str]:
    """Stream entries delivered to some consumer and not acknowledged yet."""
    ids = [
        p["message_id"]
        for key in stream_keys(settings)
        for p in client.xpending_range(key, consumer_group(settings), "-", "+", 100_000)
    ]
    return {i.decode() if isinstance(i, bytes) else str(i) for i in ids}


def backends_waiting_on_orders(settings: Settings) -> set[int]:
    with get_engine(settings.database_url).connect() as conn:
        return set(conn.execute(_WAITING_ON_ORDERS).scalars())


def backends_alive(settings: Settings, pids: set[int]) -> bool:
    with get_engine(settings.database_url).connect() as conn:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
        return bool(conn.execute(query, {"pids": list(pids)}).scalar())


def most_retries(worker_log: str) -> int:
    """How often one drain task was retried: a retry is the same task id received again."""
    received = Counter(re.findall(r"Task cartwheel\.drain\[([0-9a-f-]+)\] received", worker_log))
    return max(received.values(), default=1) - 1


def all_processed(settings: Settings, client: redis.Redis, events: EventSet) -> bool:
    done = len(logged_ids(settings, events.tenants)) == len(events.webhook_ids)
    return done and not pending_entries(client, settings)


def test_worker_killed_mid_batch_loses_and_repeats_nothing(
    settings: Settings, make_tenant: Any, redis_client: redis.Redis, tmp_path: Path
) -> None:
    s = settings.with_overrides(drain_batch_size=200, reclaim_idle_ms=500)
    rng = random.Random(7)
    tenants = [make_tenant()["id"] for _ in range(2)]
    events = EventSet()
    # Customers first, then orders: the first batches touch only customers and commit.
    for tenant_id in tenants:
        events.versions(tenant_id, "customers", range(1, 251), rng)
    for tenant_id in tenants:
        events.versions(tenant_id, "orders", range(1, 151), rng)
    writer = StreamWriter(redis_client, s)
    for envelope in events.envelopes:
        writer.enqueue(envelope)

    # "Mid-batch" made certain: while this transaction holds a SHARE lock on orders, the first
    # batch with an order has read its entries, written its log rows and customers inside its
    # transaction, and waits on the lock, uncommitted and unacknowledged. Kill it there.
    with get_engine(s.database_url).connect() as blocker:
        blocker.execute(text("LOCK TABLE orders IN SHARE MODE"))
        with celery_worker(s, tmp_path, name="w1") as w1:
            send_task(s, "cartwheel.drain")
            wait_until(lambda: bool(backends_waiting_on_orders(s)), 60, "worker 1 to block")
            orphans = backends_waiting_on_orders(s)
            w1.kill()
        committed = len(logged_ids(s, events.tenants))
        in_flight = pending_entries(redis_client, s)
        blocker.rollback()
    assert 0 < committed < len(events.webhook_ids)
    assert in_flight
    # The dead worker's backend aborts its transaction once it finds the client gone.
    wait_until(lambda: not backends_alive(s, orphans), 30, "the orphaned transaction to end")

    def nudge() -> None:  # what beat does: reclaim ticks and drain ticks
        send_task(s, "cartwheel.reclaim")
        send_task(s, "cartwheel.drain")

    with celery_worker(s, tmp_path, name="w2"):
        wait_until(lambda: all_processed(s, redis_client, events), 90, "catch-up", nudge=nudge)

    assert_tables_match(s, events)
    assert_streams_empty(s, redis_client)
    with session_scope(s.database_url) as session:
        rows = session.execute(
            select(WebhookEvent.stream_entry_id, WebhookEvent.attempts).where(
                WebhookEvent.tenant_id.in_(events.tenants)
            )
        )
        attempts = {entry: n for entry, n in rows}
    retried = {entry for entry, n in attempts.items() if n > 1}
    # Exactly the entries the dead worker held were taken over, each once.
    assert retried and retried <= in_flight
    assert max(attempts.values()) == 2


def test_receiver_answers_503_while_redis_is_down_and_accepts_after(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    events = EventSet()
    events.versions(tenant["id"], "customers", range(1, 3), random.Random(1))
    before, refused = events.envelopes[:3], events.envelopes[3:]
    with redis_server(tmp_path) as server:
        s = settings.with_overrides(redis_url=server.url)
        client: FlaskClient = create_app(s).test_client()
        sender = Sender(client, shop=tenant["shop"], secret=tenant["secret"])
        post_envelopes(sender, before)

        server.kill()
        for e in refused[:2]:
            response = sender.send(e.topic, e.body, webhook_id=e.webhook_id)
            assert response.status_code == 503
            assert int(response.headers["Retry-After"]) > 0
            body = response.get_json()
            assert body["error"] == "queue_unavailable" and body["message"]
        assert client.get("/readyz").status_code == 503
        assert logged_ids(s, events.tenants) == []

        server.start()
        queue = redis.Redis.from_url(server.url)
        # What was accepted survived the crash; what was refused left nothing behind.
        assert sum(queue.xlen(key) for key in stream_keys(s)) == len(before)
        post_envelopes(sender, refused)  # Shopify retries what got a 503
        drain_all(s)
        assert_tables_match(s, events)
        assert_streams_empty(s, queue)
        queue.close()


def test_drain_whose_redis_disappears_retries_without_loss_or_duplicates(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    events = EventSet()
    events.versions(tenant["id"], "customers", range(1, 11), random.Random(2))
    with redis_server(tmp_path) as server:
        s = settings.with_overrides(redis_url=server.url)
        sender = Sender(create_app(s).test_client(), shop=tenant["shop"], secret=tenant["secret"])
        post_envelopes(sender, events.envelopes)
        queue = redis.Redis.from_url(server.url)
        res = consuming(s, queue, "fault-consumer")

        server.kill()
        with pytest.raises(TransientError):
            drain(res)
        server.start()

        # Redis vanishes between the PostgreSQL commit and the XACK.
        batch = res.consumer.read(s.drain_batch_size, None)
        assert len(batch) == len(events.envelopes)
        server.kill()
        with pytest.raises(TransientError):
            process(res, batch)
        assert len(logged_ids(s, events.tenants)) == len(events.webhook_ids)

        server.start()
        # The same consumer re-reads its unacknowledged entries; the log already has them.
        assert drain(res).processed == len(events.envelopes)
        assert_tables_match(s, events)
        assert_streams_empty(s, queue)
        queue.close()


def test_drains_retry_while_postgres_is_down_and_catch_up(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    with postgres_server() as pg:
        upgrade(pg.url)
        # The receiver keeps tenant secrets long enough to need no database during the outage.
        s = settings.with_overrides(database_url=pg.url, secret_cache_seconds=3600.0)
        shop, secret = f"pg-down-{uuid.uuid4().hex[:6]}.myshopify.com", uuid.uuid4().hex
        with session_scope(pg.url) as session:
            tenant_id = add_tenant(
                session, shop=shop, name="Outage", webhook_secret=secret, secret_keys=s.secret_keys
            ).id
        sender = Sender(create_app(s).test_client(), shop=shop, secret=secret)
        rng = random.Random(3)
        events = EventSet()
        events.versions(tenant_id, "orders", range(1, 11), rng)
        split = len(events.envelopes)
        events.versions(tenant_id, "customers", range(1, 21), rng)
        events.versions(tenant_id, "orders", range(11, 21), rng)
        events.envelopes.extend(rng.sample(events.envelopes[:split], 5))  # redelivered late

        with celery_worker(s, tmp_path) as worker:
            post_envelopes(sender, events.envelopes[:split])
            send_task(s, "cartwheel.drain")
            first = len({e.webhook_id for e in events.envelopes[:split]})
            wait_until(lambda: len(logged_ids(s, events.tenants)) == first, 30, "first drain")

            pg.stop()
            post_envelopes(sender, events.envelopes[split:])
            send_task(s, "cartwheel.drain")
            wait_until(lambda: most_retries(worker.output()) >= 2, 60, "the drain to retry")
            pg.start()
            # No more drains are queued: the retrying task alone must catch up.
            wait_until(lambda: all_processed(s, redis_client, events), 90, "catch-up")

        assert_tables_match(s, events)
        assert_streams_empty(s, redis_client)
        get_engine(pg.url).dispose()


def test_outage_longer_than_reclaim_cycles_dead_letters_nothing(
    settings: Settings, tenant: dict[str, Any], redis_client: redis.Redis
) -> None:
    events = EventSet()
    events.versions(tenant["id"], "customers", range(1, 6), random.Random(4))
    sender = Sender(
        create_app(settings).test_client(), shop=tenant["shop"], secret=tenant["secret"]
    )
    post_envelopes(sender, events.envelopes)
    s = settings.with_overrides(reclaim_idle_ms=1, max_deliveries=2)
    # The same failure a stopped server gives: connection refused, a transient error.
    unreachable = s.with_overrides(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    live = [consuming(s, redis_client, f"c{n}") for n in range(2)]
    down = [consuming(unreachable, redis_client, f"c{n}") for n in range(2)]
    with pytest.raises(TransientError):
        drain(down[0])
    # Reclaim ticks keep passing the entries between live consumers while the database is out;
    # no consumer died, so none of this may count towards max_deliveries.
    for n in range(4):
        time.sleep(0.01)
        with pytest.raises(TransientError):
            reclaim(down[n % 2])
    time.sleep(0.01)
    reclaim(live[0])
    drain(live[0])
    drain(live[1])
    assert_tables_match(s, events)
    assert_streams_empty(s, redis_client)


def consuming(settings: Settings, client: redis.Redis, name: str) -> Resources:
    """A worker's resources reading as consumer `name` through `client`."""
    res = Resources(settings, consumer_name=name)
    res.redis = client
    res.consumer.ensure_groups()
    return res
