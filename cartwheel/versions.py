"""Per-tenant data versions: every writer bumps them after a commit, caches key on them.

The dashboard API's cached answers are keyed on the version (dashboard_api/cache.py), so an
answer is never staler than the data committed before the request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from functools import lru_cache

import redis

log = logging.getLogger(__name__)


def version_key(namespace: str, tenant_id: uuid.UUID | str) -> str:
    return f"{namespace}:tenant-version:{tenant_id}"


@lru_cache(maxsize=8)
def _client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, socket_timeout=5)


def bump_versions(
    redis_url: str, namespace: str, tenant_ids: Iterable[uuid.UUID | str], *, strict: bool = False
) -> None:
    """Invalidate cached answers of these tenants after a commit that changed their rows.

    Jobs other than the drain call it best-effort: their data is already committed, and a
    failure here only means cached answers live until the next successful bump.
    """
    ids = set(tenant_ids)
    if not ids:
        return
    pipe = _client(redis_url).pipeline(transaction=False)
    for tenant_id in ids:
        pipe.incr(version_key(namespace, tenant_id))
    try:
        pipe.execute()
    except redis.RedisError:
        if strict:
            raise
        log.warning("could not bump tenant versions", extra={"tenants": len(ids)})
