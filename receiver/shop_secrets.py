"""Shops' webhook secrets for signature checks, cached in-process so a request costs no query."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from core.crypto import decrypt


@dataclass(frozen=True, slots=True)
class TenantKeys:
    tenant_id: str
    secret: str
    previous: str | None
    previous_expires_at: datetime | None

    def secrets(self, now: datetime) -> list[str]:
        """The current secret, plus the previous one while its grace period lasts."""
        if self.previous and self.previous_expires_at and now < self.previous_expires_at:
            return [self.secret, self.previous]
        return [self.secret]


# Only the verified tenant of a shop: an unverified claim (anyone may register any shop
# domain) never receives the shop's deliveries, so its secret verifies nothing.
_QUERY = text(
    "SELECT id, webhook_secret, previous_webhook_secret, previous_secret_expires_at "
    "FROM tenants WHERE shop_domain = :shop AND verified_at IS NOT NULL"
)


class ShopSecrets:
    """shop domain -> keys, for `ttl` seconds (unknown shops too, so floods cost no queries)."""

    def __init__(self, engine: Engine, secret_keys: str, ttl: float) -> None:
        self._engine = engine
        self._secret_keys = secret_keys
        self._ttl = ttl
        self._entries: dict[str, tuple[float, TenantKeys | None]] = {}
        self._lock = threading.Lock()

    def get(self, shop_domain: str) -> TenantKeys | None:
        """The shop's keys, or None for an unknown shop. Database errors propagate."""
        now = time.monotonic()
        hit = self._entries.get(shop_domain)
        if hit and hit[0] > now:
            return hit[1]
        keys = self._load(shop_domain)
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[shop_domain] = (now + self._ttl, keys)
        return keys

    def _load(self, shop_domain: str) -> TenantKeys | None:
        with self._engine.connect() as conn:
            row = conn.execute(_QUERY, {"shop": shop_domain}).first()
        if row is None:
            return None
        return TenantKeys(
            tenant_id=str(row.id),
            secret=decrypt(self._secret_keys, row.webhook_secret),
            previous=decrypt(self._secret_keys, row.previous_webhook_secret)
            if row.previous_webhook_secret
            else None,
            previous_expires_at=row.previous_secret_expires_at,
        )


def utcnow() -> datetime:
    return datetime.now(UTC)
