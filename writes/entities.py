"""Last-writer-wins upserts of staged rows, with the children that follow the winning version.

A row is written only when its version -- (updated_at, X-Shopify-Triggered-At) -- is strictly
newer than the stored one, so replaying any deliveries in any order converges to the same state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, case, delete, func, literal, literal_column, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import WebhookEvent
from models.base import table_of
from resources.registry import Resource
from resources.rows import EntityRow, FromDelivery
from writes.staging import GROUP, PAYLOAD_FIELD, PAYLOAD_FROM, Stager, stage_of

VERSION_COLUMNS = ("updated_at", "triggered_at", "webhook_id")
Key = tuple[uuid.UUID, Any]


@dataclass(frozen=True, slots=True)
class Written:
    """A row the upsert wrote, and whether the entity was new to the table."""

    tenant_id: uuid.UUID
    key: Any
    inserted: bool


def newer_than_stored(table: Table) -> Any:
    """SQL: the incoming (updated_at, triggered_at) is strictly newer than the stored one."""
    floor = literal("-infinity").cast(table.c.updated_at.type)

    def version(source: Any) -> Any:
        return tuple_(
            func.coalesce(source.updated_at, floor), func.coalesce(source.triggered_at, floor)
        )

    return version(insert(table).excluded) > version(table.c)


def upsert_rows(
    session: Session, stager: Stager, resource: Resource, rows: Sequence[EntityRow]
) -> list[Written]:
    """Write rows (one per entity) where they are newer than what is stored.

    Rows are grouped by the columns they carry: a source leaves out columns it does not know
    (the Admin API has no order_number), and the stored value of those stays.
    """
    written: list[Written] = []
    groups: dict[tuple[str, ...], list[EntityRow]] = {}
    for row in rows:
        groups.setdefault(tuple(row.values), []).append(row)
    for columns, group in groups.items():
        written += _upsert_group(session, stager, resource, columns, group)
    return written


def _payload_parts(payload: Any) -> tuple[Any, str | None, str | None]:
    if isinstance(payload, FromDelivery):
        return None, payload.webhook_id, payload.field
    return payload, None, None


def _upsert_group(
    session: Session,
    stager: Stager,
    resource: Resource,
    columns: tuple[str, ...],
    rows: list[EntityRow],
) -> list[Written]:
    table = resource.table
    stage = stage_of(table)
    names = ("tenant_id", resource.key, *columns, *VERSION_COLUMNS, "payload")
    staged = [
        (
            r.tenant_id,
            r.key,
            *r.values.values(),
            r.updated_at,
            r.triggered_at,
            r.source,
            *_payload_parts(r.payload),
        )
        for r in rows
    ]
    group = stager.copy(table, (*names, PAYLOAD_FROM, PAYLOAD_FIELD), staged)
    events = table_of(WebhookEvent)
    delivery = and_(
        events.c.tenant_id == stage.c.tenant_id, events.c.webhook_id == stage.c[PAYLOAD_FROM]
    )
    source = (
        select(*(stage.c[n] for n in names[:-1]), _payload(stage, events))
        .select_from(stage.outerjoin(events, delivery))
        .where(stage.c[GROUP] == group)
    )
    stmt = insert(table).from_select(list(names), source)
    data = [n for n in names if n not in ("tenant_id", resource.key)]
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in data}
    for c in resource.sticky:
        if c in set_:
            set_[c] = func.coalesce(stmt.excluded[c], table.c[c])
    upsert = stmt.on_conflict_do_update(
        index_elements=["tenant_id", resource.key],
        set_=set_ | {"ingested_at": func.now()},
        where=newer_than_stored(table),
    ).returning(
        table.c.tenant_id, table.c[resource.key], literal_column("xmax = 0").label("inserted")
    )
    if resource.children is None or not any(r.children is not None for r in rows):
        result = session.execute(upsert)
        return [Written(t, k, bool(new)) for t, k, new in result]
    # Children follow the winning version: the old ones go in the same statement.
    won = upsert.cte("won")
    child = resource.children.table
    gone = (
        delete(child)
        .where(
            child.c.tenant_id == won.c.tenant_id,
            child.c[resource.children.parent_column] == won.c[resource.key],
        )
        .cte("gone")
    )
    result = session.execute(select(won).add_cte(gone))
    written = [Written(t, k, bool(new)) for t, k, new in result]
    _write_children(session, stager, resource, rows, written)
    return written


def _payload(stage: Table, events: Table) -> Any:
    """The row's own payload, else the delivery's body (or one object in it) from the event log.

    Taken in SQL, the body is sent and parsed once per delivery, not once more per row.
    """
    body = case(
        (stage.c[PAYLOAD_FIELD].is_(None), events.c.payload),
        else_=events.c.payload.op("->")(stage.c[PAYLOAD_FIELD]),
    )
    return func.coalesce(stage.c.payload, body).label("payload")


def _write_children(
    session: Session,
    stager: Stager,
    resource: Resource,
    rows: list[EntityRow],
    written: list[Written],
) -> None:
    spec = resource.children
    assert spec is not None
    won = {(w.tenant_id, w.key) for w in written}
    # One multi-row upsert may not touch a row twice: the last child per key stays, as
    # row-by-row upserts would have left it.
    unique: dict[Key, tuple[Any, ...]] = {}
    for r in rows:
        if r.children is None or (r.tenant_id, r.key) not in won:
            continue
        for c in r.children:
            unique[(r.tenant_id, c["shopify_id"])] = (
                r.tenant_id,
                c["shopify_id"],
                r.key,
                *(c.get(name) for name in spec.columns),
            )
    if not unique:
        return
    names = ("tenant_id", "shopify_id", spec.parent_column, *spec.columns)
    group = stager.copy(spec.table, names, unique.values())
    stage = stage_of(spec.table)
    stmt = insert(spec.table).from_select(
        list(names), select(*(stage.c[n] for n in names)).where(stage.c[GROUP] == group)
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "shopify_id"],
            set_={c: stmt.excluded[c] for c in names[2:]},
        )
    )
