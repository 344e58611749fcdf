"""Turn a stream delivery into what the drain writes: pure, no I/O."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from marshmallow import ValidationError

import resources
from core.errors import CartwheelError
from core.topics import RECORDED_TOPICS
from core.wire import Envelope
from models.db import RawJSON
from resources.fields import DeletePayload, normalize_token
from resources.rows import EntityRow, Tombstone

_DELETE = DeletePayload()


class PoisonEvent(CartwheelError, ValueError):
    """An event that can never be applied: it goes to the dead letters with this message."""


@dataclass(frozen=True, slots=True)
class Parsed:
    """One delivery, validated: the row or tombstone it stands for, or neither (recorded)."""

    tenant_id: uuid.UUID
    envelope: Envelope
    triggered_at: datetime | None
    received_at: datetime
    body: RawJSON  # decoded once: valid JSON text, stored without serializing it again
    row: EntityRow | None = None
    tombstone: Tombstone | None = None
    unhandled: bool = False  # a topic cartwheel does not handle (yet): logged, replayable

    @property
    def status(self) -> str:
        """How the event log records it: applied (a later mark may say stale), recorded (logged
        for a job to act on, or only logged), unhandled."""
        if self.unhandled:
            return "unhandled"
        return "recorded" if self.row is None and self.tombstone is None else "applied"

    @property
    def resource(self) -> str | None:
        """The resource it writes; None for topics that are only recorded."""
        found = self.row or self.tombstone
        return found.resource if found else None


def parse_time(value: str) -> datetime | None:
    """A header timestamp, or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_envelope(envelope: Envelope) -> Parsed:
    """Validate an envelope and its payload; raises PoisonEvent with a readable reason."""
    try:
        tenant_id = uuid.UUID(envelope.tenant_id)
    except ValueError as exc:
        raise PoisonEvent(f"bad tenant id {envelope.tenant_id!r}") from exc
    resource = resources.for_topic(envelope.topic)
    try:
        body = RawJSON(envelope.body.decode("utf-8"))
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoisonEvent(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise PoisonEvent("body is nested too deeply") from exc
    if not isinstance(payload, dict):
        raise PoisonEvent("body is not a JSON object")
    triggered_at = parse_time(envelope.triggered_at)
    received_at = parse_time(envelope.received_at) or datetime.now(UTC)
    if resource is None:
        unhandled = envelope.topic not in RECORDED_TOPICS
        return Parsed(tenant_id, envelope, triggered_at, received_at, body, unhandled=unhandled)
    try:
        if envelope.topic == resource.delete_topic:
            if resource.delete_schema is not None:
                named = resource.delete_schema.load(payload)
                key = resource.key_of(named)
            else:
                named = _DELETE.load(payload)
                key = named["id"]
            others = resource.deletes.columns if resource.deletes else ()
            names = tuple((c, normalize_token(named.get(c))) for c in others if c != "shopify_id")
            at = triggered_at or received_at
            gone = Tombstone(resource.name, tenant_id, key, at, names)
            return Parsed(tenant_id, envelope, triggered_at, received_at, body, tombstone=gone)
        values = resource.loader.load(payload)
    except ValidationError as exc:
        raise PoisonEvent(f"invalid {resource.name} payload: {exc.messages}") from exc
    row = resource.delivered_row(
        values, tenant_id=tenant_id, webhook_id=envelope.webhook_id, triggered_at=triggered_at
    )
    return Parsed(tenant_id, envelope, triggered_at, received_at, body, row=row)
