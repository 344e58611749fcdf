"""Per-tenant answer cache in Redis, keyed on the tenant's data version.

The drain INCRs `<namespace>:tenant-version:<tenant>` after every commit that changed the
tenant's rows (workers/drain/loop.py). Read the version *before* reading the data: an answer
computed from older data is then stored under the older version, which the INCR already made
unreachable, so a cached answer is never staler than the data ingested before the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import redis

from core import versions
from core.settings import Settings

TTL_SECONDS = 24 * 3600  # versions move on; old entries simply age out


def tenant_version(client: redis.Redis, settings: Settings, tenant_id: uuid.UUID) -> int:
    """The tenant's data version (0 before its first change)."""
    return versions.tenant_version(client, settings.namespace, tenant_id)


def answer_key(
    settings: Settings, tenant_id: uuid.UUID, version: int, kind: str, parts: Sequence[str]
) -> str:
    return f"{settings.namespace}:cache:{kind}:{tenant_id}:v{version}:{':'.join(parts)}"


def load_answer(client: redis.Redis, key: str) -> bytes | None:
    """The cached body, or None."""
    raw = client.get(key)
    if isinstance(raw, str):
        return raw.encode()
    return raw if isinstance(raw, bytes) else None


def store_answer(client: redis.Redis, key: str, body: bytes) -> None:
    client.set(key, body, ex=TTL_SECONDS)


def cached_body(
    client: redis.Redis,
    settings: Settings,
    tenant_id: uuid.UUID,
    version: int,
    what: tuple[str, Sequence[str]],
    compute: Callable[[], bytes],
) -> tuple[bytes, str]:
    """The body cached under `what` (a kind and the parts of its key) and the version, else
    computed and stored; and `hit` or `miss`."""
    key = answer_key(settings, tenant_id, version, *what)
    body = load_answer(client, key)
    if body is not None:
        return body, "hit"
    body = compute()
    store_answer(client, key, body)
    return body, "miss"
