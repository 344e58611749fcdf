"""Replay dead letters: put them back on the event streams exactly as the receiver wrote them.

A replay goes through the normal pipeline, and the event log's dedup on (tenant, webhook id)
makes replaying the same delivery twice harmless. Plain functions over a Session; they never
commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from core.wire import Envelope, StreamWriter
from eventlog.listing import EventFilter, EventsError, dead_letters_matching
from models import DeadLetter


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
