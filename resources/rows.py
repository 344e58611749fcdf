"""The neutral rows every source is mapped into before it is written.

Webhooks, `/ingest`, backfills and reconciles all end as `EntityRow`s and `Tombstone`s, and the
one write path (writes/) writes them by the same rules whatever they came from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FLOOR = datetime.min.replace(tzinfo=UTC)
Version = tuple[datetime, datetime]
Path = tuple[str | int, ...]  # keys and list indexes into a JSON body


@dataclass(frozen=True, slots=True)
class FromDelivery:
    """The row's payload is the delivery's body (or one object in it), already in the event log.

    The write path takes it from there in SQL instead of sending and parsing it a second time.
    """

    webhook_id: str
    path: Path = ()  # (): the whole body; else where the object is in it


@dataclass(slots=True, eq=False)
class EntityRow:
    """One version of one entity of a tenant, as some source saw it."""

    resource: str
    tenant_id: uuid.UUID
    key: Any  # the Shopify id, the token of carts and checkouts, or a tuple (composite keys)
    values: dict[str, Any]  # typed columns; a source leaves out the ones it does not know
    updated_at: datetime | None
    triggered_at: datetime | None  # X-Shopify-Triggered-At; None for pulled rows
    source: str  # the webhook id, or "backfill:<run>" / "reconcile:<run>"
    payload: Any = None  # raw JSON text, a dict, FromDelivery, or None
    # Child rows per child list (line items, variants) that replace the stored ones when this
    # version wins; None when the source says nothing about them.
    children: dict[str, list[dict[str, Any]]] | None = None
    # Child keys per list that stay although this version does not carry them (a product's
    # variants past the 100 its webhook carries in full).
    kept_children: dict[str, set[Any]] | None = None
    # Objects inside this one that are versions of other entities (an order's customer).
    embedded: list[EntityRow] = field(default_factory=list)
    # (resource, key) to read again through the Admin API once this row is written: the
    # delivery did not carry all of it (a product's variants past 100, an edited order).
    refresh: tuple[str, Any] | None = None
    # A fuller read of a version already stored (the Admin API's product with every variant):
    # it wins on an equal version too, not only on a newer one.
    completes: bool = False

    @property
    def version(self) -> Version:
        """Last-writer-wins order: Shopify's updated_at, then X-Shopify-Triggered-At."""
        return (self.updated_at or FLOOR, self.triggered_at or FLOOR)

    @property
    def identity(self) -> tuple[str, uuid.UUID, Any]:
        return (self.resource, self.tenant_id, self.key)


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A deletion: the entity stays, marked deleted, so a late update cannot bring it back."""

    resource: str
    tenant_id: uuid.UUID
    key: Any  # the Shopify id, or a tuple (composite keys)
    deleted_at: datetime
    # Other values the deletion names the entity by (a checkout's cart token), when its key is
    # not the id.
    names: tuple[tuple[str, Any], ...] = ()


def newest_per_key(rows: list[EntityRow]) -> list[EntityRow]:
    """The newest version of each entity (on a tie the first one seen), in first-seen order."""
    best: dict[tuple[str, uuid.UUID, Any], EntityRow] = {}
    for row in rows:
        current = best.get(row.identity)
        if current is None or row.version > current.version:
            best[row.identity] = row
    return list(best.values())
