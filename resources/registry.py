"""What a resource is: one `Resource` entry holds everything cartwheel knows about an entity type.

The receiver takes its topics and payload schema from it, the drain its mapping from a validated
payload to a row, backfill and reconcile its GraphQL query and node mapping, and the write path
its table, key, children and links. Adding a resource is its entry (a module of this package), its
table and migration, and its tests (docs/development.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marshmallow import Schema
from sqlalchemy import Table

from resources.loader import Derive, Loader
from resources.rows import EntityRow, FromDelivery


@dataclass(frozen=True)
class Children:
    """Rows that belong to one parent and follow its winning version (line items, variants)."""

    table: Table
    parent_column: str  # the child column holding the parent's key
    field: str  # the payload list they come from
    columns: tuple[str, ...]  # besides tenant_id, shopify_id and the parent column


@dataclass(frozen=True)
class Embedded:
    """An object inside a payload that is a version of another resource (an order's customer)."""

    field: str
    resource: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Deletes:
    """How deletions name an entity whose key is not the id they carry (checkouts).

    Deletions land in `tombstones` keyed by the id; rows with that id in `column` are marked
    deleted now, and rows written later take their tombstone from there.
    """

    column: str
    tombstones: Table


@dataclass(frozen=True)
class Pulled:
    """One Admin API node mapped to column values (and its children and embedded objects)."""

    key: int | str
    values: dict[str, Any]
    children: list[dict[str, Any]] | None = None
    embedded: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource -> values+key


@dataclass(frozen=True)
class Pull:
    """How backfill and reconcile read the resource through the GraphQL Admin API."""

    connection: str
    fields: str
    map_node: Callable[[dict[str, Any], list[dict[str, Any]]], Pulled]
    child: str | None = None
    child_fields: str = ""
    page_size: int = 50  # chosen so a page's requested cost stays under 1,000 points
    child_page: int = 10
    single: str = ""  # the root field that reads one node by id


@dataclass(frozen=True, kw_only=True)
class Resource:
    """One entity type: its topics, payload contract, table and how rows of it are written."""

    name: str
    table: Table
    key: str  # the table's key column after tenant_id: "shopify_id" or "token"
    payload_key: str  # the payload field holding it: "id" or "token"
    schema: Schema  # the payload contract
    # Columns computed from the validated payload (a product's price from its variants).
    derive: Derive | None = field(default=None, compare=False)
    columns: tuple[str, ...]  # typed columns, named as the validated payload's fields
    topics: tuple[str, ...]  # topics whose body is a version of the entity
    delete_topic: str | None = None
    deletes: Deletes | None = None  # None: deletions name the entity by its key
    sticky: tuple[str, ...] = ()  # facts that only ever become known (a completion time)
    children: Children | None = None
    embedded: tuple[Embedded, ...] = ()
    # Which checkout and cart a row points at, by token: {"checkouts": field, "carts": field}.
    links: dict[str, str] = field(default_factory=dict)
    ingest_topic: str | None = None  # the topic /ingest items travel as; None: not ingestible
    pull: Pull | None = None
    loader: Loader = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loader", Loader(self.schema, self.derive))

    def delivered_row(
        self,
        values: dict[str, Any],
        *,
        tenant_id: uuid.UUID,
        webhook_id: str,
        triggered_at: datetime | None,
    ) -> EntityRow:
        """The row a validated webhook payload stands for (its payload stays in the event log)."""
        children = None
        if self.children is not None:
            spec = self.children
            children = [
                {"shopify_id": item["id"], **{c: item.get(c) for c in spec.columns}}
                for item in values.get(spec.field) or ()
            ]
        row = EntityRow(
            resource=self.name,
            tenant_id=tenant_id,
            key=values[self.payload_key],
            values={c: values.get(c) for c in self.columns},
            updated_at=values.get("updated_at"),
            triggered_at=triggered_at,
            source=webhook_id,
            payload=FromDelivery(webhook_id),
            children=children,
        )
        for embedded in self.embedded:
            inner = values.get(embedded.field)
            if inner:
                row.embedded.append(
                    EntityRow(
                        resource=embedded.resource,
                        tenant_id=tenant_id,
                        key=inner["id"],
                        values={c: inner.get(c) for c in embedded.columns},
                        updated_at=inner.get("updated_at"),
                        triggered_at=triggered_at,
                        source=webhook_id,
                        payload=FromDelivery(webhook_id, embedded.field),
                    )
                )
        return row

    def pulled_row(
        self,
        node: dict[str, Any],
        children: list[dict[str, Any]],
        *,
        tenant_id: uuid.UUID,
        source: str,
    ) -> EntityRow:
        """The row an Admin API node (children already gathered) stands for."""
        if self.pull is None:
            raise LookupError(f"{self.name} cannot be pulled from the Admin API")
        mapped = self.pull.map_node(node, children)
        payload = {k: v for k, v in node.items() if k not in (self.pull.child, "__parentId")}
        if self.pull.child:
            payload[self.pull.child] = children
        values = dict(mapped.values)
        row = EntityRow(
            resource=self.name,
            tenant_id=tenant_id,
            key=mapped.key,
            values=values,
            updated_at=values.pop("updated_at", None),
            triggered_at=None,
            source=source,
            payload=payload,
            children=mapped.children,
        )
        for resource, inner in mapped.embedded.items():
            inner = dict(inner)
            row.embedded.append(
                EntityRow(
                    resource=resource,
                    tenant_id=tenant_id,
                    key=inner.pop("shopify_id"),
                    values=inner,
                    updated_at=None,
                    triggered_at=None,
                    source=source,
                )
            )
        return row

    def link_tokens(self, row: EntityRow) -> dict[str, str]:
        """The checkout and cart tokens a row of this resource points at."""
        out = {}
        for target, name in self.links.items():
            token = row.key if name == self.payload_key else row.values.get(name)
            if token:
                out[target] = str(token)
        return out
