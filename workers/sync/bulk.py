"""Bulk query operations: start one (waiting for a free slot), wait for it to finish."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

import resources
from core.errors import CartwheelError
from core.settings import Settings
from models import WebhookEvent
from models.base import table_of
from models.db import session_scope
from resources.graphql import BULK_BY_ID, RUN_BULK, bulk_query
from workers.sync.client import ShopifyClient

log = logging.getLogger(__name__)
ACTIVE_BULK = ("CREATED", "RUNNING", "CANCELING")


class BulkOperationError(CartwheelError):
    """Shopify refused to start a bulk operation, or lost it."""


def parse_shopify_time(value: str) -> datetime:
    """A DateTime scalar (`2026-11-26T12:00:00Z`) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def start_bulk(
    settings: Settings, client: ShopifyClient, resource: str, since: datetime | None
) -> dict[str, Any]:
    """Start a bulk query; waits while the shop's bulk slots are taken."""
    pull = resources.get(resource).pull
    assert pull is not None
    query = bulk_query(pull, since)
    deadline = time.monotonic() + 3600
    while True:
        result = client.execute(RUN_BULK, {"query": query})["bulkOperationRunQuery"]
        errors = result.get("userErrors") or []
        if not errors:
            return dict(result["bulkOperation"])
        busy = any("already" in str(e.get("message")) for e in errors)
        if not busy or time.monotonic() > deadline:
            raise BulkOperationError("; ".join(str(e.get("message")) for e in errors))
        log.info("bulk slot taken, waiting", extra={"resource": resource})
        time.sleep(settings.bulk_poll_interval)


def wait_bulk(
    settings: Settings, client: ShopifyClient, tenant_id: uuid.UUID, op_id: str
) -> dict[str, Any]:
    """Poll until the operation leaves CREATED/RUNNING; a finish webhook cuts the wait short."""
    while True:
        op = client.execute(BULK_BY_ID, {"id": op_id}).get("bulkOperation")
        if op is None:
            raise BulkOperationError(f"bulk operation {op_id} is unknown to the shop")
        if op["status"] not in ACTIVE_BULK:
            return dict(op)
        deadline = time.monotonic() + settings.bulk_poll_interval
        while time.monotonic() < deadline and not _finish_notified(settings, tenant_id, op_id):
            time.sleep(min(0.25, settings.bulk_poll_interval))


def _finish_notified(settings: Settings, tenant_id: uuid.UUID, op_id: str) -> bool:
    """Whether the bulk_operations/finish webhook for this operation has been ingested."""
    ev = table_of(WebhookEvent)
    with session_scope(settings.database_url) as session:
        found = session.scalar(
            select(func.count())
            .select_from(ev)
            .where(
                ev.c.tenant_id == tenant_id,
                ev.c.topic == "bulk_operations/finish",
                ev.c.payload["admin_graphql_api_id"].astext == op_id,
            )
        )
    return bool(found)
