"""Ingest API keys: which tenant a presented key belongs to, cached in-process."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine, text

from models.accounts import hash_token

_KEY_QUERY = text("SELECT tenant_id FROM api_keys WHERE key_hash = :hash AND revoked_at IS NULL")


class ApiKeyCache:
    """key hash -> tenant id (or None), for `ttl` seconds, so a request usually costs no query."""

    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._entries: dict[str, tuple[float, str | None]] = {}
        self._lock = threading.Lock()

    def tenant_for(self, key: str) -> str | None:
        """The tenant id the key belongs to; None for an unknown or revoked key."""
        digest = hash_token(key)
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit and hit[0] > now:
            return hit[1]
        with self._engine.connect() as conn:
            tenant_id = conn.execute(_KEY_QUERY, {"hash": digest}).scalar()
        value = str(tenant_id) if tenant_id is not None else None
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[digest] = (now + self._ttl, value)
        return value
