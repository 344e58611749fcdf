"""Failed-login limits that an attacker cannot turn against the account's owner.

Counted in Redis, in fixed windows that start at the first failure:

- per account and client address: an attacker at one address locks only that pair;
- per device cookie (devices.py): a client that logged in before is counted on its own, and is
  exempt from the two limits below, which anyone can drive up;
- per account across addresses: beyond it, clients without the account's device cookie are
  slowed to one attempt per `login_slowdown_seconds` for that account, never locked out;
- per address across accounts (credential stuffing): a much higher ceiling, beyond which only
  clients with a device cookie get through from that address. Users behind one proxy share an
  address, so a single account's attacker there never comes near it (that pair locks first).

A success clears the pair's and the device's counters, not the account's: a login by the owner
must not reopen the account to an attacker who is still at it.
"""

from __future__ import annotations

import math

import redis

from core.settings import Settings
from dashboard_api.accounts.devices import account_id
from dashboard_api.errors import RateLimited


class LoginLimiter:
    """The login limits of one settings namespace."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self._settings = settings
        self._client = client
        self._prefix = f"{settings.namespace}:login-failures"

    def _pair(self, email: str, address: str) -> str:
        return f"{self._prefix}:pair:{account_id(email)}:{address}"

    def _device(self, device: str) -> str:
        return f"{self._prefix}:device:{device}"

    def _account(self, email: str) -> str:
        return f"{self._prefix}:account:{account_id(email)}"

    def _address(self, address: str) -> str:
        return f"{self._prefix}:address:{address}"

    def _slot(self, email: str) -> str:
        return f"{self._prefix}:slow:{account_id(email)}"

    def check(self, email: str, address: str, device: str | None) -> None:
        """Raise RateLimited (429, Retry-After) when this attempt may not be made now."""
        settings = self._settings
        if device is not None:
            self._refuse_over((self._device(device), settings.login_max_failures))
            return
        self._refuse_over(
            (self._pair(email, address), settings.login_max_failures),
            (self._address(address), settings.login_max_failures_per_address),
        )
        if self._count(self._account(email)) >= settings.login_max_failures_per_account:
            # A slowdown, not a lock: one untrusted attempt per slot, whoever makes it.
            slot = self._slot(email)
            if not self._client.set(slot, 1, nx=True, ex=settings.login_slowdown_seconds):
                raise _limited(self._client.pttl(slot))

    def record_failure(self, email: str, address: str, device: str | None) -> None:
        """Count one failed login."""
        keys = [self._account(email)]
        if device is not None:
            keys.append(self._device(device))
        else:
            keys += [self._pair(email, address), self._address(address)]
        pipe = self._client.pipeline(transaction=True)
        for key in keys:
            # SET NX EX opens the window; INCR counts (works on Redis 6, unlike EXPIRE NX).
            pipe.set(key, 0, ex=self._settings.login_window_seconds, nx=True)
            pipe.incr(key)
        pipe.execute()

    def record_success(self, email: str, address: str, device: str | None) -> None:
        """Forget the failures of this pair and device (not the account's, see above)."""
        keys = [self._pair(email, address)]
        if device is not None:
            keys.append(self._device(device))
        self._client.delete(*keys)

    def _count(self, key: str) -> int:
        value = self._client.get(key)
        return int(value) if value is not None else 0

    def _refuse_over(self, *limits: tuple[str, int]) -> None:
        pipe = self._client.pipeline(transaction=False)
        for key, _ in limits:
            pipe.get(key)
            pipe.pttl(key)
        results = pipe.execute()
        waits = [
            int(ttl)
            for (_, limit), count, ttl in zip(limits, results[::2], results[1::2], strict=True)
            if count is not None and int(count) >= limit
        ]
        if waits:
            raise _limited(max(waits))


def _limited(wait_ms: int) -> RateLimited:
    retry_after = str(max(1, math.ceil((wait_ms if wait_ms > 0 else 1000) / 1000)))
    return RateLimited(
        "Too many failed logins; try again later.", headers={"Retry-After": retry_after}
    )
