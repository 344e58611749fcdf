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
from resources.rows import EntityRow, FromDelivery, Path


@dataclass(frozen=True)
class Children:
    """Rows that belong to one parent and follow its winning version (line items, variants).

    Each child is keyed by its Shopify id (`key="shopify_id"`, from the item's `id`) or, for
    lists whose items have none (tax lines, discount codes), by its place in the list
    (`key="position"`).
    """

    table: Table
    parent_column: str  # the child column holding the parent's key
    field: str  # the payload list they come from
    columns: tuple[str, ...]  # besides tenant_id, the key and the parent column
    key: str = "shopify_id"

    def rows(self, items: Any) -> list[dict[str, Any]]:
        """Child rows of the items of a validated payload list."""
        out = []
        for position, item in enumerate(items or ()):
            key = item["id"] if self.key == "shopify_id" else position
            out.append({self.key: key, **{c: item.get(c) for c in self.columns}})
        return out


@dataclass(frozen=True)
class Embedded:
    """Objects inside a payload that are versions of another resource (an order's customer, its
    refunds). `columns` limits what the embedded copy writes; None: the resource's own columns."""

    field: str
    resource: Resource
    columns: tuple[str, ...] | None = None
    many: bool = False


@dataclass(frozen=True)
class Deletes:
    """How deletions name an entity whose key is not the id they carry (checkouts).

    Deletions land in `tombstones` keyed by the id (with the other columns they name); rows
    matching any of `columns` are marked deleted now, and rows written later take their
    tombstone from there.
    """

    columns: tuple[str, ...]
    tombstones: Table


@dataclass(frozen=True)
class Pulled:
    """One Admin API node mapped to column values (and its children and embedded objects)."""

    key: Any
    values: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] | None = None
    embedded: list[EntityRow] = field(default_factory=list)


@dataclass(frozen=True)
class Connection:
    """A connection of a node, or of an item of one of its lists (an order's line items, a
    refund's lines).

    It is read `page` nodes at a time inside the query that reads its owner, and the rest
    `rest` at a time by the owner's id; both are sized so that a query's requested cost stays
    under 1,000 points. `types` are the GraphQL types of its nodes, which tell its lines apart
    in a bulk result (every child of the root there is a line of its own).
    """

    name: str
    fields: str
    types: tuple[str, ...]
    page: int = 10
    rest: int = 100


@dataclass(frozen=True)
class Nested:
    """A list field of a node whose items have connections (an order's refunds, fulfillments).

    A bulk operation cannot read a connection inside a list, so the items come with their
    node (their own `fields`) and their connections are read afterwards by the items' ids,
    `batch` items per query.
    """

    name: str
    gid_type: str
    fields: str
    connections: tuple[Connection, ...]
    batch: int = 4


@dataclass(frozen=True)
class Pull:
    """How backfill and reconcile read the resource through the GraphQL Admin API.

    `map_node` gets the node with every connection (its own and its list items') as a plain
    list of nodes under the connection's name, and the nodes of the first connection (the
    child rows: line items, variants) as `children`.
    """

    connection: str
    fields: str
    map_node: Callable[[dict[str, Any], list[dict[str, Any]], PullContext], Pulled]
    gid_type: str = ""  # the GraphQL type of its nodes: `Order` in gid://shopify/Order/1
    connections: tuple[Connection, ...] = ()
    nested: tuple[Nested, ...] = ()
    page_size: int = 50  # chosen so a page's requested cost stays under 1,000 points
    single: str = ""  # the root field that reads one node by id
    sort_key: str | None = "UPDATED_AT"  # None: the connection takes no sortKey

    @property
    def child(self) -> str | None:
        """The connection whose nodes are the resource's child rows."""
        return self.connections[0].name if self.connections else None


@dataclass(frozen=True)
class PullContext:
    """What a node mapper needs to build embedded rows of its own."""

    tenant_id: uuid.UUID
    source: str


@dataclass(frozen=True, kw_only=True)
class Resource:
    """One entity type: its topics, payload contract, table and how rows of it are written."""

    name: str
    table: Table
    # The table's key columns after tenant_id, and the validated payload's fields holding them.
    key: str | tuple[str, ...]
    payload_key: str | tuple[str, ...]
    schema: Schema  # the payload contract
    # Columns computed from the validated payload (a product's price from its variants).
    derive: Derive | None = field(default=None, compare=False)
    columns: tuple[str, ...]  # typed columns, named as the validated payload's fields
    topics: tuple[str, ...] = ()  # topics whose body is a version of the entity
    delete_topic: str | None = None
    # The deletion's payload contract; None: Shopify's `{"id": ...}` (with its `payload_key`).
    delete_schema: Schema | None = None
    deletes: Deletes | None = None  # None: deletions name the entity by its key
    sticky: tuple[str, ...] = ()  # facts that only ever become known (a completion time)
    # Facts a version may lack that an older one carries (a creation time): filled in from
    # whichever version knows them, even one that lost.
    facts: tuple[str, ...] = ()
    children: tuple[Children, ...] = ()
    embedded: tuple[Embedded, ...] = ()
    # Which checkout and cart a row points at, by token: {"checkouts": field, "carts": field}.
    links: dict[str, str] = field(default_factory=dict)
    ingest_topic: str | None = None  # the topic /ingest items travel as; None: not ingestible
    # The entity to read again through the Admin API after a delivery of this one is written
    # (resource name and key), when the delivery says the data it carries is not whole.
    refresh: Callable[[dict[str, Any]], tuple[str, Any] | None] | None = field(
        default=None, compare=False
    )
    pull: Pull | None = None
    loader: Loader = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loader", Loader(self.schema, self.derive))

    @property
    def keys(self) -> tuple[str, ...]:
        return self.key if isinstance(self.key, tuple) else (self.key,)

    def key_of(self, values: dict[str, Any]) -> Any:
        """The entity's key in validated payload values (a tuple for a composite key)."""
        if isinstance(self.payload_key, tuple):
            return tuple(values[k] for k in self.payload_key)
        return values[self.payload_key]

    def delivered_row(
        self,
        values: dict[str, Any],
        *,
        tenant_id: uuid.UUID,
        webhook_id: str,
        triggered_at: datetime | None,
        path: Path = (),
        columns: tuple[str, ...] | None = None,
    ) -> EntityRow:
        """The row a validated webhook payload (or an object at `path` in it) stands for; its
        payload stays in the event log."""
        row = EntityRow(
            resource=self.name,
            tenant_id=tenant_id,
            key=self.key_of(values),
            values={c: values.get(c) for c in (self.columns if columns is None else columns)},
            updated_at=values.get("updated_at"),
            triggered_at=triggered_at,
            source=webhook_id,
            payload=FromDelivery(webhook_id, path),
            children={spec.field: spec.rows(values.get(spec.field)) for spec in self.children}
            or None,
            kept_children=values.get("kept_children"),
            refresh=self.refresh(values) if self.refresh else None,
        )
        for spec in self.embedded:
            inner = values.get(spec.field)
            items = (inner or []) if spec.many else ([inner] if inner else [])
            for index, item in enumerate(items):
                item = spec.resource.derive(dict(item)) if spec.resource.derive else item
                row.embedded.append(
                    spec.resource.delivered_row(
                        item,
                        tenant_id=tenant_id,
                        webhook_id=webhook_id,
                        triggered_at=triggered_at,
                        path=(*path, spec.field, index) if spec.many else (*path, spec.field),
                        columns=spec.columns,
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
        mapped = self.pull.map_node(node, children, PullContext(tenant_id, source))
        payload = {k: v for k, v in node.items() if k not in (self.pull.child, "__parentId")}
        if self.pull.child:
            payload[self.pull.child] = children
        values = dict(mapped.values)
        rows = mapped.children
        if rows is not None:  # position-keyed children are numbered in their order
            positioned = {spec.field for spec in self.children if spec.key == "position"}
            rows = {
                name: [{"position": i} | item for i, item in enumerate(items)]
                if name in positioned
                else items
                for name, items in rows.items()
            }
        return EntityRow(
            resource=self.name,
            tenant_id=tenant_id,
            key=mapped.key,
            values=values,
            updated_at=values.pop("updated_at", None),
            triggered_at=None,
            source=source,
            payload=payload,
            children=rows,
            embedded=list(mapped.embedded),
        )

    def link_tokens(self, row: EntityRow) -> dict[str, str]:
        """The checkout and cart tokens a row of this resource points at."""
        out = {}
        for target, name in self.links.items():
            token = row.key if name == self.payload_key else row.values.get(name)
            if token:
                out[target] = str(token)
        return out


def pulled_embedded(
    resource: Resource, context: PullContext, key: Any, values: dict[str, Any]
) -> EntityRow:
    """An embedded row of a pulled node: it has no version of its own, so it only fills a gap
    (a row that exists is never overwritten by it)."""
    return EntityRow(resource.name, context.tenant_id, key, values, None, None, context.source)
