"""Turn a stream envelope into a typed change: pure, no I/O."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError

from cartwheel.streams import Envelope
from cartwheel.topics import ENTITY_TOPICS, TOPICS, is_delete
from models.db import RawJSON
from models.payloads import DELETE_SCHEMA, UPSERT_SCHEMAS, normalize_token

EMPTY_OBJECT = RawJSON("{}")


class PoisonEvent(ValueError):
    """An event that can never be applied: it goes to the dead letters with this message."""


@dataclass(frozen=True, slots=True)
class Change:
    """One parsed delivery, ready to be logged and applied."""

    tenant_id: uuid.UUID
    envelope: Envelope
    payload: dict[str, Any]
    resource: str | None  # None for lifecycle topics, which are only recorded
    delete: bool
    values: dict[str, Any]
    triggered_at: datetime | None
    received_at: datetime
    # The body as delivered, decoded once: valid JSON text, stored without serializing it again.
    raw_payload: RawJSON = EMPTY_OBJECT

    @property
    def key(self) -> tuple[uuid.UUID, Any]:
        """The entity this change is about: (tenant, Shopify id or token)."""
        if self.resource in ("carts", "checkouts") and not self.delete:
            return (self.tenant_id, self.values["token"])
        return (self.tenant_id, self.values.get("id"))

    @property
    def version(self) -> tuple[datetime, datetime]:
        """Last-writer-wins order: payload updated_at, then X-Shopify-Triggered-At."""
        floor = datetime.min.replace(tzinfo=UTC)
        return (self.values.get("updated_at") or floor, self.triggered_at or floor)


def parse_time(value: str) -> datetime | None:
    """A header timestamp, or None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_envelope(envelope: Envelope) -> Change:
    """Validate an envelope and its payload; raises PoisonEvent with a readable reason."""
    try:
        tenant_id = uuid.UUID(envelope.tenant_id)
    except ValueError as exc:
        raise PoisonEvent(f"bad tenant id {envelope.tenant_id!r}") from exc
    if envelope.topic not in TOPICS:
        raise PoisonEvent(f"unknown topic {envelope.topic!r}")
    try:
        text = RawJSON(envelope.body.decode("utf-8"))
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PoisonEvent(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise PoisonEvent("body is not a JSON object")
    resource = ENTITY_TOPICS.get(envelope.topic)
    delete = is_delete(envelope.topic)
    values: dict[str, Any] = {}
    if resource is not None:
        schema = DELETE_SCHEMA if delete else UPSERT_SCHEMAS[resource]
        try:
            values = schema.load(payload)
        except ValidationError as exc:
            raise PoisonEvent(f"invalid {resource} payload: {exc.messages}") from exc
        for token_field in ("token", "cart_token", "checkout_token"):
            if token_field in values:
                values[token_field] = normalize_token(values[token_field])
    return Change(
        tenant_id=tenant_id,
        envelope=envelope,
        payload=payload,
        resource=resource,
        delete=delete,
        values=values,
        triggered_at=parse_time(envelope.triggered_at),
        received_at=parse_time(envelope.received_at) or datetime.now(UTC),
        raw_payload=text,
    )


def newest_per_key(changes: list[Change]) -> list[Change]:
    """Keep only the newest version of each entity (one upsert may not touch a row twice)."""
    best: dict[tuple[uuid.UUID, Any], Change] = {}
    for change in changes:
        current = best.get(change.key)
        if current is None or change.version > current.version:
            best[change.key] = change
    return list(best.values())
