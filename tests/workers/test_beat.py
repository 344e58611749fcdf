"""Two real beats and a real worker: one beat schedules, the standby takes over when it dies."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis

from core.settings import Settings
from tests.support.processes import Proc, celery_beat, celery_worker
from workers.runtime import celery_config

SENDING = "Sending due task sweep-abandoned"
ACQUIRED = "beat: Acquired lock"


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def slot_runs(client: redis.Redis, settings: Settings) -> tuple[set[int], dict[int, int]]:
    """Slots the sweep ran in, and the slots a second message was refused for."""
    prefix = f"{settings.namespace}:job-slot:sweep_abandoned:"
    ran: set[int] = set()
    duplicates: dict[int, int] = {}
    for key in client.scan_iter(match=f"{prefix}*"):
        rest = key.decode()[len(prefix) :]
        if rest.endswith(":duplicate"):
            duplicates[int(rest.split(":")[0])] = int(client.get(key) or 0)
        else:
            ran.add(int(rest))
    return ran, duplicates


def test_standby_beat_takes_over_within_a_minute_and_no_slot_runs_twice(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    interval = 2.0
    s = settings.with_overrides(
        sweep_interval=interval,
        beat_lock_timeout=10,
        beat_max_loop_interval=2.0,
        drain_interval=5.0,
        reclaim_interval=60.0,
        compliance_interval=60.0,
        retention_interval=60.0,
    )
    with (
        celery_worker(s, tmp_path),
        celery_beat(s, tmp_path, name="beat-a") as a,
        celery_beat(s, tmp_path, name="beat-b") as b,
    ):
        wait_until(lambda: ACQUIRED in a.output() + b.output(), 60, "a beat to take the lock")
        active, standby = (a, b) if ACQUIRED in a.output() else (b, a)
        assert redis_client.exists(f"{s.namespace}:redbeat:lock")
        wait_until(lambda: len(slot_runs(redis_client, s)[0]) >= 3, 60, "three sweep runs")

        assert SENDING in active.output()
        assert ACQUIRED not in standby.output()
        assert "Sending due task" not in standby.output()

        killed_at = time.time()
        active.kill()

        def ran_after_kill() -> list[int]:
            return [n for n in slot_runs(redis_client, s)[0] if n * interval >= killed_at]

        wait_until(lambda: len(ran_after_kill()) >= 3, 120, "the standby to keep the schedule")
        assert ACQUIRED in standby.output()
        assert SENDING in standby.output()

    _, duplicates = slot_runs(redis_client, s)
    assert duplicates == {}
    resumed_at = min(ran_after_kill()) * interval
    assert resumed_at - killed_at < 60, f"took over after {resumed_at - killed_at:.0f}s"
    _log_figures(active, standby, killed_at, resumed_at)


def _log_figures(active: Proc, standby: Proc, killed_at: float, resumed_at: float) -> None:
    print(
        f"active={active.log.name} standby={standby.log.name} "
        f"takeover_seconds={resumed_at - killed_at:.1f}"
    )


def test_default_beat_settings_hand_over_within_a_minute(settings: Settings) -> None:
    """A standby polls the lock every loop; the lock outlives a dead holder by its timeout."""
    config = celery_config(Settings(settings.database_url, settings.redis_url, "k"))
    lock, loop = config["redbeat_lock_timeout"], config["beat_max_loop_interval"]
    assert lock + loop < 60
    assert loop * 3 <= lock  # the active beat renews its lock several times per timeout
    schedule = config["beat_schedule"]
    assert schedule["sweep-abandoned"]["schedule"].total_seconds() == 60
    assert {e["task"] for e in schedule.values()} >= {
        "cartwheel.sweep_abandoned",
        "cartwheel.act_on_compliance",
        "cartwheel.purge_raw_payloads",
    }
