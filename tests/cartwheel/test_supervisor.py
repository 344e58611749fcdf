"""Stopping the stack is warm: the worker finishes the batch in hand, which commits, then acks."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import redis

from cartwheel.supervisor import Output, Supervisor
from core import jobs
from core.settings import Settings
from core.wire import Envelope, StreamWriter, consumer_group, stream_keys
from tests.support.faults_events import customer_payload, logged_ids, wait_until
from tests.support.processes import child_env, send_task


def test_stopping_lets_the_worker_finish_its_batch(
    settings: Settings, tenant: dict[str, Any], redis_client: redis.Redis, tmp_path: Path
) -> None:
    # Many small batches keep the drain busy long enough to be stopped in the middle of one.
    total = 20_000
    # One tenant sends it all at once: no per-tenant admission limit here.
    s = settings.with_overrides(
        drain_batch_size=50,
        stream_shards=1,
        drain_time_budget=1.0,
        tenant_rate=0.0,
        tenant_backlog_max=total + 1,
    )
    writer = StreamWriter(redis_client, s)
    for n in range(total):
        body = json.dumps(customer_payload(n + 1, 1)).encode()
        writer.enqueue(
            Envelope(str(tenant["id"]), "customers/update", f"w{n}", "", "", "", "", body)
        )
    out = io.StringIO()
    sup = Supervisor(Output(out), stop_timeout=30, pids_file=tmp_path / "run.pids")
    queue = ",".join(jobs.queues(s))
    command = f"{sys.executable} -m celery -A workers.runtime worker -Q {queue} -c 1 -l INFO"
    sup.start("worker", command, child_env(s))
    try:
        wait_until(lambda: "ready." in out.getvalue(), 60, "the worker")
        send_task(s, jobs.DRAIN)
        wait_until(lambda: logged_ids(s, {tenant["id"]}), 30, "the first batch")
    finally:
        started = time.monotonic()
        sup.stop()
    log = out.getvalue()
    assert "WorkerLostError" not in log and "did not stop in time" not in log, log[-3000:]
    assert "worker stopped (exit code 0)" in log
    assert time.monotonic() - started < 30
    [key] = stream_keys(s)
    pending = redis_client.xpending(key, consumer_group(s))["pending"]
    logged = len(logged_ids(s, {tenant["id"]}))
    assert pending == 0  # the batch in hand was committed and acknowledged
    assert 0 < logged < total  # it stopped in the middle
    assert redis_client.xlen(key) == total - logged  # every entry committed is gone, no other
