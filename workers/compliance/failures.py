"""A compliance action that failed: left pending with its error, then dead-lettered."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from core.settings import Settings
from models import WebhookEvent
from models.base import table_of
from models.db import session_scope
from workers.compliance import metrics
from writes.events import DeadDelivery, write_dead_letters

log = logging.getLogger(__name__)


def note_failure(settings: Settings, tenant_id: uuid.UUID, webhook_id: str, exc: Exception) -> None:
    """Leave the event pending with its error (the next run retries it); after
    `compliance_max_attempts` failures, make it a dead letter instead, where operators look."""
    log.exception(
        "compliance action failed", extra={"tenant": str(tenant_id), "webhook_id": webhook_id}
    )
    ev = table_of(WebhookEvent)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    with session_scope(settings.database_url) as session:
        failed = session.execute(
            update(ev)
            .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
            .values(attempts=ev.c.attempts + 1, error=error)
            .returning(ev)
        ).one_or_none()
        if failed is None:
            return
        dead = failed.attempts > settings.compliance_max_attempts
        if dead:
            session.execute(
                update(ev)
                .where(ev.c.tenant_id == tenant_id, ev.c.webhook_id == webhook_id)
                .values(status="failed")
            )
            write_dead_letters(session, [_dead_letter(failed, error)])
    metrics.ACTIONS.labels(failed.topic, "dead" if dead else "error").inc()
    if dead:
        log.error(
            "compliance action gave up; dead-lettered",
            extra={"tenant": str(tenant_id), "webhook_id": webhook_id, "topic": failed.topic},
        )


def _dead_letter(event: Any, error: str) -> DeadDelivery:
    """The dead letter of an event the job gave up on; replaying it re-arms the event."""
    return DeadDelivery(
        tenant_id=event.tenant_id,
        webhook_id=event.webhook_id,
        event_id=event.event_id or "",
        topic=event.topic,
        triggered_at=event.triggered_at.isoformat() if event.triggered_at else "",
        api_version=event.api_version or "",
        received_at=event.received_at.isoformat(),
        body=json.dumps(event.payload).encode() if event.payload is not None else b"{}",
        error=f"gave up after {event.attempts - 1} failed attempts: {error}"[:4000],
        attempts=event.attempts,
        stream_entry_id=event.stream_entry_id,
        created_at=datetime.now(UTC),
    )
