"""Per-tenant data versions: every writer bumps them after a commit, caches key on them, and
the dashboards' live streams hear of each bump.

The dashboard API's cached answers are keyed on the version (dashboard_api/cache.py), so an
answer is never staler than the data committed before the request. Each bump also appends one
entry to the namespace's live feed (a Redis stream, `live_feed`): the tenant, its new version,
the topics that changed and when the receiver accepted the oldest of them. Every dashboard
process reads that one stream and passes each entry to its own tenant's browsers
(dashboard_api/live.py).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import redis

log = logging.getLogger(__name__)

# Entries the live feed keeps (up to a tenth more between trims): a browser that comes back
# within them misses nothing, one that comes back later reloads.
LIVE_FEED_LENGTH = 20_000


@dataclass(frozen=True)
class Change:
    """What one commit changed for a tenant: the webhook topics (or job names), and when the
    receiver accepted the oldest delivery among them (epoch seconds; None for jobs)."""

    topics: frozenset[str] = field(default_factory=frozenset)
    accepted_at: float | None = None


def version_key(namespace: str, tenant_id: uuid.UUID | str) -> str:
    return f"{namespace}:tenant-version:{tenant_id}"


def live_feed(namespace: str) -> str:
    return f"{namespace}:live"


def tenant_version(client: redis.Redis, namespace: str, tenant_id: uuid.UUID | str) -> int:
    """The tenant's data version (0 before its first change)."""
    raw = client.get(version_key(namespace, tenant_id))
    return int(raw) if raw is not None else 0


def trimmed_key(namespace: str) -> str:
    """The id of the newest entry trimmed from the live feed (none: nothing ever was)."""
    return f"{namespace}:live:trimmed"


# KEYS: the live feed, its trimmed-id key, then one version key per tenant; ARGV: the feed's
# length, then per tenant its id and the change as JSON. One round trip; each entry names the
# version its own INCR made. The feed is cut back to its length once it is a tenth over,
# remembering the newest id cut, so a browser coming back knows whether it missed any.
_BUMP = """
local feed, trimmed, length = KEYS[1], KEYS[2], tonumber(ARGV[1])
for i = 3, #KEYS do
  local version = redis.call('INCR', KEYS[i])
  redis.call('XADD', feed, '*',
             'tenant', ARGV[2 * i - 4], 'version', version, 'change', ARGV[2 * i - 3])
end
local n = redis.call('XLEN', feed)
if n > length + math.floor(length / 10) then
  local cut = redis.call('XRANGE', feed, '-', '+', 'COUNT', n - length)
  local newest = cut[#cut][1]
  local ms, seq = string.match(newest, '(%d+)-(%d+)')
  redis.call('XTRIM', feed, 'MINID', ms .. '-' .. (tonumber(seq) + 1))
  redis.call('SET', trimmed, newest)
end
return #KEYS - 2
"""


def bump_versions(
    client: redis.Redis,
    namespace: str,
    tenant_ids: Iterable[uuid.UUID | str],
    *,
    strict: bool = False,
    changes: Mapping[uuid.UUID, Change] | None = None,
) -> None:
    """Invalidate cached answers of these tenants after a commit that changed their rows, and
    tell their live streams (with what `changes` says of each tenant, if anything).

    Jobs other than the drain call it best-effort: their data is already committed, and a
    failure here only means cached answers live until the next successful bump.
    """
    ids = sorted({str(t) for t in tenant_ids} | {str(t) for t in changes or ()})
    if not ids:
        return
    by_id = {str(k): v for k, v in (changes or {}).items()}
    args: list[str | int] = [LIVE_FEED_LENGTH]
    for tenant_id in ids:
        change = by_id.get(tenant_id, Change())
        body = {"topics": sorted(change.topics), "accepted_at": change.accepted_at}
        args += [tenant_id, json.dumps(body | {"bumped_at": round(time.time(), 6)})]
    keys = [
        live_feed(namespace),
        trimmed_key(namespace),
        *(version_key(namespace, t) for t in ids),
    ]
    try:
        client.register_script(_BUMP)(keys=keys, args=args)
    except redis.RedisError:
        if strict:
            raise
        log.warning("could not bump tenant versions", extra={"tenants": len(ids)})
