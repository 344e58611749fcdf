"""Beat's scheduler: redbeat's, made to ride out a Redis restart instead of exiting.

redbeat renews its lock at every tick and lets a Redis error escape, which ends beat. Here a tick
that cannot reach Redis logs, waits a second and tries again; when Redis is back, beat goes on with
the lock it held (the lock key survives a restart with AOF) or, if the lock lapsed meanwhile,
takes it again -- waiting as a standby does while another beat holds it.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redbeat import RedBeatScheduler
from redis.exceptions import LockError

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
_UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)


class Scheduler(RedBeatScheduler):
    """A redbeat scheduler whose ticks survive Redis going away and coming back."""

    _outage = False
    lock: Any = None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            if self.lock_key and self.lock is None:
                self._take_lock()
            interval = float(super().tick(*args, **kwargs))
        except _UNREACHABLE as exc:
            if not self._outage:
                log.warning("redis unreachable; beat waits for it", extra={"error": str(exc)})
            self._outage = True
            return RETRY_SECONDS
        except LockError:
            log.warning("beat lock lapsed; taking it again")
            self.lock = None
            return 0.0
        if self._outage:
            log.warning("redis reachable again; beat resumes")
            self._outage = False
        return interval

    def _take_lock(self) -> None:
        # The lock redbeat takes at start (beat_init), taken here when that failed or lapsed.
        from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis

        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        lock.acquire()
        log.info("beat lock taken")
        self.lock = lock
