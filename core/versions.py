"""Per-tenant data versions: every writer bumps them after a commit, caches key on them.

The dashboard API's cached answers are keyed on the version (dashboard_api/cache.py), so an
answer is never staler than the data committed before the request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

import redis

log = logging.getLogger(__name__)


def version_key(namespace: str, tenant_id: uuid.UUID | str) -> str:
    return f"{namespace}:tenant-version:{tenant_id}"


def tenant_version(client: redis.Redis, namespace: str, tenant_id: uuid.UUID | str) -> int:
    """The tenant's data version (0 before its first change)."""
    raw = client.get(version_key(namespace, tenant_id))
    return int(raw) if raw is not None else 0


def bump_versions(
    client: redis.Redis,
    namespace: str,
    tenant_ids: Iterable[uuid.UUID | str],
    *,
    strict: bool = False,
) -> None:
    """Invalidate cached answers of these tenants after a commit that changed their rows.

    Jobs other than the drain call it best-effort: their data is already committed, and a
    failure here only means cached answers live until the next successful bump.
    """
    ids = set(tenant_ids)
    if not ids:
        return
    pipe = client.pipeline(transaction=False)
    for tenant_id in ids:
        pipe.incr(version_key(namespace, tenant_id))
    try:
        pipe.execute()
    except redis.RedisError:
        if strict:
            raise
        log.warning("could not bump tenant versions", extra={"tenants": len(ids)})
