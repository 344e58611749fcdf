"""The raw event log (one row per delivery, deduplicated) and the dead letters.

Every accepted delivery is logged once per (tenant, webhook id) before its data is written: the
log is what makes redelivery harmless, and the entity rows take their payload from it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import DeadLetter, Tenant, WebhookEvent
from models.base import table_of
from writes.staging import GROUP, Stager, stage_of

Key = tuple[uuid.UUID, str]  # tenant, webhook id


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    """One delivery as the event log keeps it."""

    tenant_id: uuid.UUID
    webhook_id: str
    event_id: str | None
    topic: str
    triggered_at: datetime | None
    api_version: str | None
    received_at: datetime
    status: str  # applied (a later mark may say stale) | recorded | unhandled
    attempts: int
    stream_entry_id: str
    payload: Any  # the body as delivered (raw JSON text)


_LOG_COLUMNS = (
    "tenant_id", "webhook_id", "event_id", "topic", "triggered_at", "api_version",
    "received_at", "status", "attempts", "stream_entry_id", "payload",
)  # fmt: skip


def log_deliveries(session: Session, deliveries: Sequence[LoggedDelivery]) -> set[Key]:
    """Log deliveries of live tenants not logged yet (or re-armed); returns the new keys."""
    if not deliveries:
        return set()
    events, tenants = table_of(WebhookEvent), table_of(Tenant)
    stager = Stager(session)
    group = stager.copy(
        events, _LOG_COLUMNS, ([getattr(d, c) for c in _LOG_COLUMNS] for d in deliveries)
    )
    stage = stage_of(events)
    # A tenant erased by shop/redact while its events were queued has nothing left to log to.
    source = (
        select(*(stage.c[c] for c in _LOG_COLUMNS))
        .join(tenants, tenants.c.id == stage.c.tenant_id)
        .where(stage.c[GROUP] == group)
    )
    stmt: Any = insert(events).from_select(list(_LOG_COLUMNS), source)
    # A redelivery is a duplicate, unless the job acting on it gave up (status `failed`, and a
    # dead letter): replaying that dead letter re-arms the event for another round of attempts;
    # or unless its topic was not handled when it came (status `unhandled`): replayed once
    # cartwheel handles the topic, it is applied like a new delivery.
    stmt = stmt.on_conflict_do_update(
        index_elements=["tenant_id", "webhook_id"],
        set_={
            "status": stmt.excluded.status,
            "attempts": stmt.excluded.attempts,
            "error": None,
            "payload": stmt.excluded.payload,
            "stream_entry_id": stmt.excluded.stream_entry_id,
        },
        where=events.c.status.in_(("failed", "unhandled")),
    ).returning(events.c.tenant_id, events.c.webhook_id)
    return {(t, w) for t, w in session.execute(stmt)}


def mark_stale(session: Session, keys: Sequence[Key]) -> None:
    """Label logged deliveries whose version lost to a newer one."""
    if not keys:
        return
    events = table_of(WebhookEvent)
    session.execute(
        update(events)
        .where(tuple_(events.c.tenant_id, events.c.webhook_id).in_(list(keys)))
        .values(status="stale")
    )


def live_tenants(session: Session, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Tenants that still exist (shop/redact may have erased one while its events queued)."""
    if not ids:
        return set()
    return set(session.scalars(select(Tenant.id).where(Tenant.id.in_(ids))))


@dataclass(frozen=True, slots=True)
class DeadDelivery:
    """A delivery that cannot be applied, kept with its error for an operator to replay."""

    tenant_id: uuid.UUID
    webhook_id: str
    event_id: str | None
    topic: str
    triggered_at: str | None
    api_version: str | None
    received_at: str | None
    body: bytes
    error: str
    attempts: int
    stream_entry_id: str | None
    created_at: datetime


def write_dead_letters(session: Session, letters: Sequence[DeadDelivery]) -> None:
    """Keep poison with its error so an operator can inspect and replay it."""
    if letters:
        rows = [{f.name: getattr(d, f.name) for f in fields(DeadDelivery)} for d in letters]
        session.execute(insert(table_of(DeadLetter)), rows)
