"""What `cartwheel status` reports: rows per tenant and table, and the state of the pipeline.

Plain functions over a Session or a Redis client; they only read.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.settings import Settings
from core.wire import StreamConsumer, consumer_group
from models import Cart, Checkout, Customer, DeadLetter, Order, Product, Tenant, WebhookEvent

ENTITY_TABLES: dict[str, Any] = {
    "customers": Customer,
    "products": Product,
    "orders": Order,
    "carts": Cart,
    "checkouts": Checkout,
}
LOG_TABLES: dict[str, Any] = {"webhook_events": WebhookEvent, "dead_letters": DeadLetter}
TABLES = (*ENTITY_TABLES, *LOG_TABLES)


@dataclass
class TableCount:
    rows: int = 0  # live rows (tombstoned ones are counted apart)
    deleted: int = 0


@dataclass
class TenantStatus:
    id: uuid.UUID
    shop: str
    name: str
    status: str
    tables: dict[str, TableCount] = field(default_factory=lambda: {t: TableCount() for t in TABLES})


@dataclass
class DeadLetterTotals:
    total: int
    waiting: int  # not replayed yet


@dataclass
class ShardStatus:
    stream: str
    backlog: int  # entries not yet acknowledged (acked ones are deleted from the stream)
    pending: int  # of those, delivered to a consumer and not acknowledged yet


@dataclass
class PipelineStatus:
    group: str
    shards: list[ShardStatus]
    consumers: dict[str, dict[str, int]]  # name -> pending, idle_ms

    @property
    def backlog(self) -> int:
        return sum(s.backlog for s in self.shards)

    @property
    def pending(self) -> int:
        return sum(s.pending for s in self.shards)


def tenant_counts(session: Session) -> list[TenantStatus]:
    """Every tenant, by shop domain, with its rows per table."""
    tenants = {
        t.id: TenantStatus(t.id, t.shop_domain, t.name, t.status)
        for t in session.scalars(select(Tenant).order_by(Tenant.shop_domain))
    }
    for name, model in ENTITY_TABLES.items():
        stmt = select(
            model.tenant_id,
            func.count().filter(model.deleted_at.is_(None)),
            func.count().filter(model.deleted_at.is_not(None)),
        ).group_by(model.tenant_id)
        for tenant_id, live, deleted in session.execute(stmt):
            if tenant_id in tenants:
                tenants[tenant_id].tables[name] = TableCount(live, deleted)
    for name, model in LOG_TABLES.items():
        stmt = select(model.tenant_id, func.count()).group_by(model.tenant_id)
        for tenant_id, rows in session.execute(stmt):
            if tenant_id in tenants:
                tenants[tenant_id].tables[name] = TableCount(rows)
    return list(tenants.values())


def dead_letter_totals(session: Session) -> DeadLetterTotals:
    """Dead letters of every tenant, and how many still wait for a replay."""
    total, waiting = session.execute(
        select(func.count(), func.count().filter(DeadLetter.replayed_at.is_(None)))
    ).one()
    return DeadLetterTotals(total, waiting)


def pipeline_status(client: redis.Redis, settings: Settings) -> PipelineStatus:
    """Backlog and pending entries per stream shard, and the consumers of the workers' group."""
    # Reading through a consumer object registers nothing: backlog and consumers only query.
    reader = StreamConsumer(client, settings, name="cartwheel-status")
    shards = [
        ShardStatus(stream, counts["length"], counts["pending"])
        for stream, counts in reader.backlog().items()
    ]
    return PipelineStatus(consumer_group(settings), shards, reader.consumers())


def status_json(
    tenants: list[TenantStatus],
    dead: DeadLetterTotals,
    pipeline: PipelineStatus | None,
    error: str | None = None,
) -> dict[str, Any]:
    """The report as JSON-ready data (`cartwheel status --json`)."""
    return {
        "tenants": [
            {
                "id": str(t.id),
                "shop": t.shop,
                "name": t.name,
                "status": t.status,
                "tables": {
                    name: {"rows": c.rows, "deleted": c.deleted}
                    if name in ENTITY_TABLES
                    else {"rows": c.rows}
                    for name, c in t.tables.items()
                },
            }
            for t in tenants
        ],
        "pipeline": _pipeline_json(pipeline) | {"dead_letters": asdict(dead), "error": error},
    }


def _pipeline_json(pipeline: PipelineStatus | None) -> dict[str, Any]:
    if pipeline is None:
        return {"group": None, "backlog": None, "pending": None, "shards": [], "consumers": []}
    return {
        "group": pipeline.group,
        "backlog": pipeline.backlog,
        "pending": pipeline.pending,
        "shards": [asdict(s) for s in pipeline.shards],
        "consumers": [{"name": n, **info} for n, info in sorted(pipeline.consumers.items())],
    }
