"""A Redis restart under a running worker and beat costs seconds, not a process.

Redis is killed and started again on the same AOF data, as a crash and a supervisor's restart
would do. Beat keeps running with the lock it held, the worker reconnects, and a webhook sent
after the restart lands without anything being restarted by hand.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from core.settings import Settings
from receiver import create_app
from tests.support.faults_events import EventSet, logged_ids, post_envelopes, wait_until
from tests.support.faults_services import redis_server
from tests.support.processes import celery_beat, celery_worker
from tests.support.webhooks import Sender


def test_beat_and_worker_ride_out_a_redis_restart(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    events = EventSet()
    events.versions(tenant["id"], "customers", range(1, 21), random.Random(5))
    before, after = events.envelopes[:10], events.envelopes[10:]
    with redis_server(tmp_path) as server:
        s = settings.with_overrides(
            redis_url=server.url, drain_interval=0.5, beat_max_loop_interval=1.0
        )
        sender = Sender(create_app(s).test_client(), shop=tenant["shop"], secret=tenant["secret"])
        with celery_worker(s, tmp_path) as worker, celery_beat(s, tmp_path) as beat:
            post_envelopes(sender, before)
            first = {e.webhook_id for e in before}
            wait_until(lambda: len(logged_ids(s, events.tenants)) == len(first), 30, "drains")

            server.kill()
            time.sleep(2)
            server.start()
            restarted = time.monotonic()
            post_envelopes(sender, after)
            total = len({e.webhook_id for e in events.envelopes})
            wait_until(lambda: len(logged_ids(s, events.tenants)) == total, 20, "catch-up")
            recovered = time.monotonic() - restarted

            assert beat.popen.poll() is None, beat.output()[-2000:]
            assert worker.popen.poll() is None, worker.output()[-2000:]
            beat_lines = [
                json.loads(line) for line in beat.output().splitlines() if line[:1] == "{"
            ]
            assert not [line for line in beat_lines if line["level"] == "critical"]
            assert any(line["message"].startswith("redis unreachable") for line in beat_lines)
    # Far under the 30 s a restarted beat would wait for the old lock.
    assert recovered < 15, f"webhooks landed {recovered:.1f} s after the restart"
