"""Failed-login limits per account and per client address, counted in Redis."""

from __future__ import annotations

import hashlib
import math

import redis

from core.settings import Settings
from dashboard_api.errors import RateLimited


class LoginLimiter:
    """Fixed windows that start at the first failure; a success clears the account's window."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._client = client

    def _keys(self, email: str, address: str) -> list[tuple[str, int]]:
        # Hash the email: keys show up in monitoring, and addresses of users are not for that.
        account = hashlib.sha256(email.lower().encode()).hexdigest()[:32]
        prefix = f"{self._settings.namespace}:login-failures"
        return [
            (f"{prefix}:account:{account}", self._settings.login_max_failures),
            (f"{prefix}:address:{address}", self._settings.login_max_failures_per_address),
        ]

    def check(self, email: str, address: str) -> None:
        """Raise RateLimited (429, Retry-After) when either limit is reached."""
        keys = self._keys(email, address)
        pipe = self._client.pipeline(transaction=False)
        for key, _ in keys:
            pipe.get(key)
            pipe.pttl(key)
        results = pipe.execute()
        wait_ms = 0
        for (_, limit), count, ttl in zip(keys, results[::2], results[1::2], strict=True):
            if count is not None and int(count) >= limit:
                wait_ms = max(wait_ms, int(ttl) if int(ttl) > 0 else 1000)
        if wait_ms:
            retry_after = str(max(1, math.ceil(wait_ms / 1000)))
            raise RateLimited(
                "Too many failed logins; try again later.", headers={"Retry-After": retry_after}
            )

    def record_failure(self, email: str, address: str) -> None:
        """Count one failed login against the account and the address."""
        pipe = self._client.pipeline(transaction=True)
        for key, _ in self._keys(email, address):
            # SET NX EX opens the window; INCR counts (works on Redis 6, unlike EXPIRE NX).
            pipe.set(key, 0, ex=self._settings.login_window_seconds, nx=True)
            pipe.incr(key)
        pipe.execute()

    def reset_account(self, email: str) -> None:
        """Forget the account's failures after a successful login (not the address's)."""
        key, _ = self._keys(email, "-")[0]
        self._client.delete(key)
