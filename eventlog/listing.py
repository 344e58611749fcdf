"""The event log and the dead letters, for operators and shop owners: list and show.

Plain functions over a Session; they only read.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

import resources
from core.api_versions import is_supported
from core.errors import CartwheelError
from models import DeadLetter, WebhookEvent
from models.base import table_of

EVENT_STATUSES = (
    "applied", "stale", "recorded", "held", "unhandled", "processed", "rejected", "failed",
)  # fmt: skip
DEAD_STATUSES = ("dead", "replayed")  # dead letters not replayed yet, and replayed ones
STATUSES = EVENT_STATUSES + DEAD_STATUSES


class EventsError(CartwheelError, ValueError):
    """A request about events that cannot be carried out."""


@dataclass(frozen=True)
class EventFilter:
    """Which events to list or replay; every field is optional."""

    tenant_id: uuid.UUID | None = None
    topic: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise EventsError(f"unknown status {self.status!r}; one of {', '.join(STATUSES)}")
        if self.limit < 1:
            raise EventsError("the limit must be at least 1")


@dataclass(frozen=True)
class EventRow:
    """One delivery in the event log (kind `event`) or in the dead letters (kind `dead_letter`)."""

    kind: str
    tenant_id: uuid.UUID
    webhook_id: str
    topic: str
    status: str
    at: datetime  # received (event log) or dead-lettered (dead letters)
    attempts: int
    error: str | None
    dead_letter_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    body: Any = None  # the payload (parsed when it is JSON), only when asked for


def _event_row(e: WebhookEvent, with_body: bool = False) -> EventRow:
    return EventRow(
        kind="event",
        tenant_id=e.tenant_id,
        webhook_id=e.webhook_id,
        topic=e.topic,
        status=e.status,
        at=e.received_at,
        attempts=e.attempts,
        error=e.error,
        details={
            "event_id": e.event_id,
            "triggered_at": e.triggered_at,
            "api_version": e.api_version,
            "processed_at": e.processed_at,
            "payload_purged": e.payload is None,
        },
        body=e.payload if with_body else None,
    )


def _dead_row(d: DeadLetter, with_body: bool = False) -> EventRow:
    body: Any = None
    if with_body:
        try:
            body = json.loads(d.body)
        except ValueError:
            body = d.body.decode(errors="replace")
    return EventRow(
        kind="dead_letter",
        tenant_id=d.tenant_id,
        webhook_id=d.webhook_id,
        topic=d.topic,
        status="replayed" if d.replayed_at else "dead",
        at=d.created_at,
        attempts=d.attempts,
        error=d.error,
        dead_letter_id=d.id,
        details={
            "event_id": d.event_id,
            "triggered_at": d.triggered_at,
            "api_version": d.api_version,
            "received_at": d.received_at,
            "replayed_at": d.replayed_at,
            "body_bytes": len(d.body),
        },
        body=body,
    )


def dead_letters_matching(flt: EventFilter) -> Select[Any]:
    stmt = select(DeadLetter)
    if flt.tenant_id is not None:
        stmt = stmt.where(DeadLetter.tenant_id == flt.tenant_id)
    if flt.topic:
        stmt = stmt.where(DeadLetter.topic == flt.topic)
    if flt.status == "dead":
        stmt = stmt.where(DeadLetter.replayed_at.is_(None))
    elif flt.status == "replayed":
        stmt = stmt.where(DeadLetter.replayed_at.is_not(None))
    if flt.since:
        stmt = stmt.where(DeadLetter.created_at >= flt.since)
    if flt.until:
        stmt = stmt.where(DeadLetter.created_at < flt.until)
    return stmt


def list_dead_letters(session: Session, flt: EventFilter) -> list[EventRow]:
    """Dead letters matching the filter, newest first."""
    stmt = dead_letters_matching(flt).order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc())
    return [_dead_row(d) for d in session.scalars(stmt.limit(flt.limit))]


def get_dead_letter(
    session: Session, dead_letter_id: int, *, tenant_id: uuid.UUID | None = None
) -> EventRow | None:
    """One dead letter with its body, or None (also for another tenant's)."""
    stmt = select(DeadLetter).where(DeadLetter.id == dead_letter_id)
    if tenant_id is not None:
        stmt = stmt.where(DeadLetter.tenant_id == tenant_id)
    found = session.scalar(stmt)
    return _dead_row(found, True) if found else None


def events_matching(flt: EventFilter) -> Select[Any]:
    """Event log entries matching a filter (unordered, unlimited)."""
    stmt = select(WebhookEvent)
    if flt.tenant_id is not None:
        stmt = stmt.where(WebhookEvent.tenant_id == flt.tenant_id)
    if flt.topic:
        stmt = stmt.where(WebhookEvent.topic == flt.topic)
    if flt.status:
        stmt = stmt.where(WebhookEvent.status == flt.status)
    if flt.since:
        stmt = stmt.where(WebhookEvent.received_at >= flt.since)
    if flt.until:
        stmt = stmt.where(WebhookEvent.received_at < flt.until)
    return stmt


def list_events(session: Session, flt: EventFilter) -> list[EventRow]:
    """Event log entries and dead letters matching the filter, newest first."""
    rows: list[EventRow] = []
    if flt.status is None or flt.status in EVENT_STATUSES:
        stmt = events_matching(flt).order_by(WebhookEvent.received_at.desc()).limit(flt.limit)
        rows += [_event_row(e) for e in session.scalars(stmt)]
    if flt.status is None or flt.status in DEAD_STATUSES:
        rows += list_dead_letters(session, flt)
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[: flt.limit]


def find_events(
    session: Session, ref: str, *, tenant_id: uuid.UUID | None = None
) -> list[EventRow]:
    """Everything known under a webhook id, or the dead letter with that number, with bodies."""
    events = select(WebhookEvent).where(WebhookEvent.webhook_id == ref)
    dead = select(DeadLetter).where(DeadLetter.webhook_id == ref)
    if ref.isdigit() and len(ref) < 19:
        dead = select(DeadLetter).where(
            (DeadLetter.webhook_id == ref) | (DeadLetter.id == int(ref))
        )
    if tenant_id is not None:
        events = events.where(WebhookEvent.tenant_id == tenant_id)
        dead = dead.where(DeadLetter.tenant_id == tenant_id)
    found = [_event_row(e, True) for e in session.scalars(events)]
    found += [_dead_row(d, True) for d in session.scalars(dead.order_by(DeadLetter.id))]
    return found


@dataclass(frozen=True)
class DeliveriesSeen:
    """Deliveries of one topic in one API version since a time: how many, how many unhandled,
    the last one, and what cartwheel and Shopify make of them."""

    topic: str
    api_version: str | None
    deliveries: int
    unhandled: int
    last_received_at: datetime
    handled: bool  # cartwheel handles the topic now
    version_supported: bool | None  # by Shopify today; None: not a stable version name


def deliveries_seen(
    session: Session, *, tenant_id: uuid.UUID | None, since: datetime
) -> list[DeliveriesSeen]:
    """Topics and API versions the shop's deliveries came with, most recent first."""
    events = table_of(WebhookEvent)
    stmt = (
        select(
            events.c.topic,
            events.c.api_version,
            func.count().label("deliveries"),
            func.count().filter(events.c.status == "unhandled").label("unhandled"),
            func.max(events.c.received_at).label("last"),
        )
        .where(events.c.received_at >= since)
        .group_by(events.c.topic, events.c.api_version)
        .order_by(func.max(events.c.received_at).desc())
    )
    if tenant_id is not None:
        stmt = stmt.where(events.c.tenant_id == tenant_id)
    today = datetime.now(UTC).date()
    return [
        DeliveriesSeen(
            topic=r.topic,
            api_version=r.api_version,
            deliveries=r.deliveries,
            unhandled=r.unhandled,
            last_received_at=r.last,
            handled=r.topic in resources.TOPICS,
            version_supported=is_supported(r.api_version or "", today),
        )
        for r in session.execute(stmt)
    ]
