"""Record a batch of deliveries in the raw event log and apply it to the entity tables.

Plain functions over a Session; they never commit (the drain owns the transaction).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cartwheel.streams import Envelope
from models import DeadLetter, Tenant, WebhookEvent
from models.base import table_of
from workers.apply import apply_changes
from workers.parse import Change, PoisonEvent, parse_envelope
from workers.streams import Delivery


@dataclass
class Poison:
    delivery: Delivery
    error: str


@dataclass
class BatchOutcome:
    """What one batch did; the drain turns it into acks, metrics and log lines."""

    applied: list[Change] = field(default_factory=list)
    stale: list[Change] = field(default_factory=list)
    recorded: list[Change] = field(default_factory=list)
    duplicates: int = 0
    poison: list[Poison] = field(default_factory=list)
    dropped: int = 0  # entries that are not cartwheel envelopes at all, or whose tenant is gone

    @property
    def tenants_changed(self) -> set[uuid.UUID]:
        return {c.tenant_id for c in self.applied}


def parse_deliveries(
    deliveries: list[Delivery],
) -> tuple[list[tuple[Delivery, Change]], BatchOutcome]:
    """Decode and validate; poison is set aside, duplicates inside the batch collapse."""
    outcome = BatchOutcome()
    parsed: dict[tuple[str, str], tuple[Delivery, Change]] = {}
    for d in deliveries:
        try:
            envelope = Envelope.from_fields(d.fields)
        except (KeyError, UnicodeDecodeError):
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


def ingest_batch(session: Session, deliveries: list[Delivery]) -> BatchOutcome:
    """Log every new delivery once, apply the entity changes, dead-letter the poison."""
    parsed, outcome = parse_deliveries(deliveries)
    live = _live_tenants(session, {c.tenant_id for _, c in parsed} | _poison_tenants(outcome))
    changes = [c for _, c in parsed if c.tenant_id in live]
    outcome.dropped += len(parsed) - len(changes)
    fresh = _log_events(session, changes, {id(c): d for d, c in parsed})
    outcome.duplicates += len(changes) - len(fresh)
    stale_ids = apply_changes(session, [c for c in fresh if c.resource])
    for change in fresh:
        if change.resource is None:
            outcome.recorded.append(change)
        elif change.envelope.webhook_id in stale_ids:
            outcome.stale.append(change)
        else:
            outcome.applied.append(change)
    _mark_stale(session, outcome.stale)
    keep = [p for p in outcome.poison if _tenant_of(p.delivery) in live]
    outcome.dropped += len(outcome.poison) - len(keep)
    outcome.poison = keep
    write_dead_letters(session, keep)
    return outcome


def _log_events(
    session: Session, changes: list[Change], deliveries: dict[int, Delivery]
) -> list[Change]:
    if not changes:
        return []
    rows = [
        {
            "tenant_id": c.tenant_id,
            "webhook_id": c.envelope.webhook_id,
            "event_id": c.envelope.event_id or None,
            "topic": c.envelope.topic,
            "triggered_at": c.triggered_at,
            "api_version": c.envelope.api_version or None,
            "received_at": c.received_at,
            "status": "applied" if c.resource else "recorded",
            "attempts": 1 + deliveries[id(c)].reclaims,
            "stream_entry_id": deliveries[id(c)].entry_id,
            "payload": c.raw_payload,
        }
        for c in changes
    ]
    table = table_of(WebhookEvent)
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "webhook_id"])
        .returning(table.c.tenant_id, table.c.webhook_id)
    )
    new = {(t, w) for t, w in session.execute(stmt, rows)}
    return [c for c in changes if (c.tenant_id, c.envelope.webhook_id) in new]


def _mark_stale(session: Session, stale: list[Change]) -> None:
    if not stale:
        return
    table = table_of(WebhookEvent)
    keys = [(c.tenant_id, c.envelope.webhook_id) for c in stale]
    session.execute(
        update(table)
        .where(tuple_(table.c.tenant_id, table.c.webhook_id).in_(keys))
        .values(status="stale")
    )


def _live_tenants(session: Session, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Tenants that still exist (shop/redact may have erased one while its events queued)."""
    if not ids:
        return set()
    return set(session.scalars(select(Tenant.id).where(Tenant.id.in_(ids))))


def _tenant_of(delivery: Delivery) -> uuid.UUID | None:
    try:
        return uuid.UUID(delivery.fields[b"t"].decode())
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def _poison_tenants(outcome: BatchOutcome) -> set[uuid.UUID]:
    return {t for p in outcome.poison if (t := _tenant_of(p.delivery)) is not None}


def write_dead_letters(session: Session, poison: list[Poison]) -> None:
    """Keep poison with its error so an operator can inspect and replay it."""
    if not poison:
        return
    rows = []
    for p in poison:
        f = p.delivery.fields

        def text(key: bytes, fields: dict[bytes, bytes] = f) -> str | None:
            raw = fields.get(key)
            return raw.decode(errors="replace") if raw is not None else None

        rows.append(
            {
                "tenant_id": _tenant_of(p.delivery),
                "webhook_id": text(b"w") or "",
                "event_id": text(b"e"),
                "topic": text(b"tp") or "",
                "triggered_at": text(b"ta"),
                "api_version": text(b"v"),
                "received_at": text(b"ra"),
                "body": f.get(b"b", b""),
                "error": p.error[:4000],
                "attempts": 1 + p.delivery.reclaims,
                "stream_entry_id": p.delivery.entry_id,
                "created_at": datetime.now(UTC),
            }
        )
    session.execute(insert(table_of(DeadLetter)), rows)
