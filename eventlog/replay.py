"""Replay dead letters, and deliveries of topics cartwheel did not handle when they came: put
them back on the event streams as the receiver wrote them.

A replay goes through the normal pipeline, and the event log's dedup on (tenant, webhook id)
makes replaying the same delivery twice harmless. Plain functions over a Session; they never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import resources
from core.wire import Envelope, StreamWriter
from eventlog.listing import EventFilter, EventsError, dead_letters_matching, events_matching
from models import DeadLetter, WebhookEvent


@dataclass
class ReplayResult:
    """Dead letters put back on the streams, and those asked for but left alone."""

    replayed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # already replayed, or another replay has it


def replay_dead_letters(
    session: Session,
    writer: StreamWriter,
    *,
    now: datetime,
    ids: Sequence[int] | None = None,
    flt: EventFilter | None = None,
) -> ReplayResult:
    """Re-enqueue dead letters not replayed yet (by id, or all matching the filter); mark them."""
    if ids is None and flt is None:
        raise EventsError("name the dead letters to replay, or give a filter")
    flt = flt or EventFilter()
    stmt = dead_letters_matching(EventFilter(flt.tenant_id, flt.topic, None, flt.since, flt.until))
    stmt = stmt.where(DeadLetter.id.in_(list(ids))) if ids is not None else stmt.limit(flt.limit)
    # Locked so two replays at once cannot both enqueue the same letter.
    stmt = stmt.where(DeadLetter.replayed_at.is_(None)).with_for_update(skip_locked=True)
    result = ReplayResult()
    for d in session.scalars(stmt.order_by(DeadLetter.created_at, DeadLetter.id)):
        writer.enqueue(envelope_of(d))
        result.replayed.append(d.id)
    if result.replayed:
        session.execute(
            update(DeadLetter)
            .where(DeadLetter.id.in_(result.replayed))
            .values(replayed_at=now)
            .execution_options(synchronize_session=False)
        )
    result.skipped = sorted(set(ids or ()) - set(result.replayed))
    return result


def envelope_of(dead: DeadLetter) -> Envelope:
    """The stream envelope a dead letter was made from, field for field."""
    return Envelope(
        tenant_id=str(dead.tenant_id),
        topic=dead.topic,
        webhook_id=dead.webhook_id,
        event_id=dead.event_id or "",
        triggered_at=dead.triggered_at or "",
        api_version=dead.api_version or "",
        received_at=dead.received_at or "",
        body=dead.body,
    )


@dataclass
class UnhandledReplay:
    """Deliveries of now-handled topics put back on the streams (webhook ids), and those left:
    still unhandled topics, or payloads already purged by retention."""

    replayed: list[str] = field(default_factory=list)
    left: int = 0


def replay_unhandled(session: Session, writer: StreamWriter, flt: EventFilter) -> UnhandledReplay:
    """Re-enqueue logged deliveries whose topic was unhandled when they came and is handled now.

    The drain re-arms such an event (status `unhandled`) and applies it like a new delivery."""
    base = events_matching(EventFilter(flt.tenant_id, flt.topic, "unhandled", flt.since, flt.until))
    result = UnhandledReplay()
    stmt = (
        base.where(WebhookEvent.topic.in_(sorted(resources.TOPICS)))
        .where(WebhookEvent.payload.is_not(None))
        .order_by(WebhookEvent.received_at)
        .limit(flt.limit)
    )
    for e in session.scalars(stmt):
        writer.enqueue(
            Envelope(
                tenant_id=str(e.tenant_id),
                topic=e.topic,
                webhook_id=e.webhook_id,
                event_id=e.event_id or "",
                triggered_at=e.triggered_at.isoformat() if e.triggered_at else "",
                api_version=e.api_version or "",
                received_at=e.received_at.isoformat(),
                body=orjson.dumps(e.payload),
            )
        )
        result.replayed.append(e.webhook_id)

    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    result.left = total - len(result.replayed)
    return result
