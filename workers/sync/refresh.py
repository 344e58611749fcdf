"""Read one entity again through the Admin API when a delivery said it was not whole.

A product webhook carries full data for its first 100 variants only; an order edit names the
order it changed but is not the order. The drain asks for the entity to be read again after
it commits (`request_refresh`), at most once per entity per `REFRESH_COALESCE` seconds, and
`refresh_entity` writes what the Admin API answers through the same last-writer-wins path.
A tenant without Admin API credentials keeps what the webhooks said (a partial product stays
marked `variants_partial`).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

import resources
from core import jobs
from models.db import session_scope
from resources import graphql as gql
from shops.credentials import CredentialError, admin_api
from workers.sync.client import ShopifyClient
from workers.sync.gather import Client, complete_nested, from_page
from workers.sync.pulled import Drift, map_nodes, write_pulled

if TYPE_CHECKING:
    from resources.rows import EntityRow
    from workers.runtime import Resources

log = logging.getLogger(__name__)
REFRESH_COALESCE = 60  # seconds: a burst of updates to one product asks once


def request_refresh(res: Resources, rows: list[EntityRow]) -> int:
    """Queue a refresh of each entity the written rows ask for; returns how many were queued."""
    queued = 0
    for row in rows:
        if row.refresh is None:
            continue
        resource, key = row.refresh
        mark = f"{res.settings.namespace}:refresh:{row.tenant_id}:{resource}:{key}"
        if not res.redis.set(mark, 1, nx=True, ex=REFRESH_COALESCE):
            continue
        kwargs = {"tenant_id": str(row.tenant_id), "resource": resource, "key": key}
        res.producer.enqueue(jobs.REFRESH, kwargs)
        queued += 1
    return queued


def refresh_entity(
    res: Resources,
    *,
    tenant_id: uuid.UUID,
    resource: str,
    key: Any,
    client: Client | None = None,
) -> Drift:
    """Pull one entity by its key and write it; nothing when the tenant has no credentials."""
    entry = resources.get(resource)
    pull = entry.pull
    if pull is None or not pull.single:
        raise LookupError(f"{resource} cannot be read by id through the Admin API")
    if client is None:
        with session_scope(res.settings.database_url) as session:
            try:
                api = admin_api(session, tenant_id=tenant_id, secret_keys=res.settings.secret_keys)
            except CredentialError:
                log.info("no credentials: refresh skipped", extra={"tenant": tenant_id})
                return Drift()
        # A longer wait raises ThrottleWait: the task retries later rather than sleeping.
        client = ShopifyClient(
            api, max_inline_wait=res.settings.sync_max_inline_wait, settings=res.settings
        )
    found = client.execute(gql.single_query(pull), {"id": gql.gid(pull.gid_type, key)})
    node = found.get(pull.single)
    if node is None:
        return Drift()  # gone from the shop: its deletion webhook says so
    whole = from_page(client, pull, node)
    complete_nested(client, pull, [whole])
    rows = map_nodes(entry, [whole], tenant_id=tenant_id, source=f"refresh:{resource}")
    for row in rows:
        row.completes = True  # the same version as the partial delivery, read whole
    with session_scope(res.settings.database_url) as session:
        outcome = write_pulled(session, rows)
    if outcome.written:
        res.bump_versions([tenant_id])
    return outcome
