"""Record a batch of deliveries in the raw event log and write their data.

Plain functions over a Session; they never commit (the drain owns the transaction).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.versions import Change
from core.wire import Delivery, MalformedEntry
from workers.drain.parse import Parsed, PoisonEvent, parse_envelope
from writes import write_rows
from writes.events import (
    DeadDelivery,
    LoggedDelivery,
    live_tenants,
    log_deliveries,
    mark_stale,
    write_dead_letters,
)


@dataclass
class Poison:
    delivery: Delivery
    error: str


@dataclass
class BatchOutcome:
    """What one batch did; the drain turns it into acks, metrics and log lines."""

    applied: list[Parsed] = field(default_factory=list)
    stale: list[Parsed] = field(default_factory=list)
    recorded: list[Parsed] = field(default_factory=list)
    unhandled: list[Parsed] = field(default_factory=list)
    duplicates: int = 0
    poison: list[Poison] = field(default_factory=list)
    dropped: int = 0  # entries that are not cartwheel envelopes at all, or whose tenant is gone

    @property
    def changes(self) -> dict[uuid.UUID, Change]:
        """Per tenant changed: the topics applied, and when the oldest was accepted."""
        topics: dict[uuid.UUID, set[str]] = defaultdict(set)
        accepted: dict[uuid.UUID, float] = {}
        for p in self.applied:
            topics[p.tenant_id].add(p.envelope.topic)
            at = p.received_at.timestamp()
            accepted[p.tenant_id] = min(at, accepted.get(p.tenant_id, at))
        return {t: Change(frozenset(names), accepted[t]) for t, names in topics.items()}

    def add(self, other: BatchOutcome) -> None:
        self.applied += other.applied
        self.stale += other.stale
        self.recorded += other.recorded
        self.unhandled += other.unhandled
        self.duplicates += other.duplicates
        self.poison += other.poison
        self.dropped += other.dropped


ParsedBatch = tuple[list[tuple[Delivery, Parsed]], BatchOutcome]


def parse_deliveries(deliveries: list[Delivery]) -> ParsedBatch:
    """Decode and validate; poison is set aside, duplicates inside the batch collapse."""
    outcome = BatchOutcome()
    parsed: dict[tuple[str, str], tuple[Delivery, Parsed]] = {}
    for d in deliveries:
        try:
            envelope = d.envelope()
        except MalformedEntry:
            outcome.dropped += 1
            continue
        try:
            change = parse_envelope(envelope)
        except PoisonEvent as exc:
            outcome.poison.append(Poison(d, str(exc)))
            continue
        key = (envelope.tenant_id, envelope.webhook_id)
        if key in parsed:
            outcome.duplicates += 1
        else:
            parsed[key] = (d, change)
    return list(parsed.values()), outcome


def ingest_batch(
    session: Session, deliveries: list[Delivery], parsed_batch: ParsedBatch | None = None
) -> BatchOutcome:
    """Log every new delivery once, write the data it carries, dead-letter the poison.

    `parsed_batch` is `parse_deliveries(deliveries)` when the caller has parsed them already.
    """
    parsed, outcome = parsed_batch or parse_deliveries(deliveries)
    fresh_keys = log_deliveries(session, [_logged(d, p) for d, p in parsed])
    fresh = [p for _, p in parsed if (p.tenant_id, p.envelope.webhook_id) in fresh_keys]
    missed = [p for _, p in parsed if (p.tenant_id, p.envelope.webhook_id) not in fresh_keys]
    live = live_tenants(session, {p.tenant_id for p in missed} | _poison_tenants(outcome))
    gone = sum(1 for p in missed if p.tenant_id not in live)
    outcome.dropped += gone
    outcome.duplicates += len(missed) - gone
    rows = [p.row for p in fresh if p.row is not None]
    tombstones = [p.tombstone for p in fresh if p.tombstone is not None]
    lost = {id(r) for r in write_rows(session, rows, tombstones).lost}
    for p in fresh:
        if p.unhandled:
            outcome.unhandled.append(p)
        elif p.resource is None:
            outcome.recorded.append(p)
        elif p.row is not None and id(p.row) in lost:
            outcome.stale.append(p)
        else:
            outcome.applied.append(p)
    mark_stale(session, [(p.tenant_id, p.envelope.webhook_id) for p in outcome.stale])
    keep = [p for p in outcome.poison if _tenant_of(p.delivery) in live]
    outcome.dropped += len(outcome.poison) - len(keep)
    outcome.poison = keep
    write_dead_letters(session, [dead_letter(p) for p in keep])
    return outcome


def _logged(d: Delivery, p: Parsed) -> LoggedDelivery:
    envelope = p.envelope
    return LoggedDelivery(
        tenant_id=p.tenant_id,
        webhook_id=envelope.webhook_id,
        event_id=envelope.event_id or None,
        topic=envelope.topic,
        triggered_at=p.triggered_at,
        api_version=envelope.api_version or None,
        received_at=p.received_at,
        status=p.status,
        attempts=1 + d.reclaims,
        stream_entry_id=d.entry_id,
        payload=p.body,
    )


def _tenant_of(delivery: Delivery) -> uuid.UUID | None:
    try:
        return uuid.UUID(delivery.salvage().tenant_id)
    except ValueError:
        return None


def _poison_tenants(outcome: BatchOutcome) -> set[uuid.UUID]:
    return {t for p in outcome.poison if (t := _tenant_of(p.delivery)) is not None}


def dead_letter(poison: Poison) -> DeadDelivery:
    """The dead letter of a delivery that cannot be applied, field for field as it came."""
    d = poison.delivery
    envelope = d.salvage()
    tenant_id = _tenant_of(d)
    assert tenant_id is not None, "poison of no tenant is dropped, not dead-lettered"
    return DeadDelivery(
        tenant_id=tenant_id,
        webhook_id=envelope.webhook_id,
        event_id=envelope.event_id,
        topic=envelope.topic,
        triggered_at=envelope.triggered_at,
        api_version=envelope.api_version,
        received_at=envelope.received_at,
        body=envelope.body,
        error=poison.error[:4000],
        attempts=1 + d.reclaims,
        stream_entry_id=d.entry_id,
        created_at=datetime.now(UTC),
    )
