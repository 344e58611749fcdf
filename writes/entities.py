"""Last-writer-wins upserts of staged rows, with the children that follow the winning version.

A row is written only when its version -- (updated_at, X-Shopify-Triggered-At) -- is strictly
newer than the stored one, so replaying any deliveries in any order converges to the same state.
Facts a newer version may lack (a creation time) are filled in from any version that has them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ARRAY,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from models import WebhookEvent
from models.base import table_of
from resources.registry import Children, Resource
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


def newer_than_stored(table: Table, *, or_equal: bool = False) -> Any:
    """SQL: the incoming (updated_at, triggered_at) is strictly newer than the stored one (or,
    for a row that completes a stored version, at least as new)."""
    floor = literal("-infinity").cast(table.c.updated_at.type)

    def version(source: Any) -> Any:
        return tuple_(
            func.coalesce(source.updated_at, floor), func.coalesce(source.triggered_at, floor)
        )

    if or_equal:
        return func.coalesce(insert(table).excluded.updated_at, floor) >= func.coalesce(
            table.c.updated_at, floor
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
    groups: dict[tuple[bool, tuple[str, ...]], list[EntityRow]] = {}
    for row in rows:
        groups.setdefault((row.completes, tuple(row.values)), []).append(row)
    for (completes, columns), group in groups.items():
        written += _upsert_group(session, stager, resource, columns, group, completes)
    return written


def _payload_parts(payload: Any) -> tuple[Any, str | None, str | None]:
    if isinstance(payload, FromDelivery):
        path = "{" + ",".join(str(p) for p in payload.path) + "}" if payload.path else None
        return None, payload.webhook_id, path
    return payload, None, None


def _key_values(resource: Resource, key: Any) -> tuple[Any, ...]:
    return key if isinstance(resource.key, tuple) else (key,)


def _upsert_group(
    session: Session,
    stager: Stager,
    resource: Resource,
    columns: tuple[str, ...],
    rows: list[EntityRow],
    completes: bool = False,
) -> list[Written]:
    table = resource.table
    stage = stage_of(table)
    keys = resource.keys
    names = ("tenant_id", *keys, *columns, *VERSION_COLUMNS, "payload")
    staged = [
        (
            r.tenant_id,
            *_key_values(resource, r.key),
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
    data = [n for n in names if n not in ("tenant_id", *keys)]
    set_: dict[str, Any] = {c: stmt.excluded[c] for c in data}
    for c in resource.sticky:
        if c in set_:
            set_[c] = func.coalesce(stmt.excluded[c], table.c[c])
    for c in resource.facts:
        if c in set_:
            set_[c] = func.coalesce(stmt.excluded[c], table.c[c])
    upsert = stmt.on_conflict_do_update(
        index_elements=["tenant_id", *keys],
        set_=set_ | {"ingested_at": func.now()},
        where=newer_than_stored(table, or_equal=completes),
    ).returning(
        table.c.tenant_id,
        *(table.c[k] for k in keys),
        literal_column("xmax = 0").label("inserted"),
    )
    with_children = [s for s in resource.children if any(r.children for r in rows)]
    if not with_children:
        written = [_written(resource, row) for row in session.execute(upsert)]
    else:
        written = _upsert_with_children(session, stager, resource, rows, upsert)
    _fill_facts(session, resource, stage, group, [c for c in resource.facts if c in columns])
    return written


def _written(resource: Resource, row: Any) -> Written:
    tenant_id, *key, inserted = row
    return Written(tenant_id, tuple(key) if isinstance(resource.key, tuple) else key[0], inserted)


def _payload(stage: Table, events: Table) -> Any:
    """The row's own payload, else the delivery's body (or one object in it) from the event log.

    Taken in SQL, the body is sent and parsed once per delivery, not once more per row.
    """
    body = case(
        (stage.c[PAYLOAD_FIELD].is_(None), events.c.payload),
        else_=events.c.payload.op("#>")(cast(stage.c[PAYLOAD_FIELD], ARRAY(Text))),
    )
    return func.coalesce(stage.c.payload, body).label("payload")


def _fill_facts(
    session: Session, resource: Resource, stage: Table, group: int, facts: list[str]
) -> None:
    """Facts a winning version lacked, taken from a staged version that knows them."""
    table = resource.table
    for fact in facts:
        session.execute(
            update(table)
            .where(
                table.c.tenant_id == stage.c.tenant_id,
                *(table.c[k] == stage.c[k] for k in resource.keys),
                stage.c[GROUP] == group,
                table.c[fact].is_(None),
                stage.c[fact].is_not(None),
            )
            .values({fact: stage.c[fact]})
        )


def _upsert_with_children(
    session: Session, stager: Stager, resource: Resource, rows: list[EntityRow], upsert: Any
) -> list[Written]:
    # Children follow the winning version: the old ones go in the same statement, except those
    # a version keeps without carrying them (removed below, one parent at a time).
    won = upsert.cte("won")
    (key,) = resource.keys
    # A version that does not carry a child list at all (a pull that cannot read it) leaves
    # the stored one as it is.
    keeping = {(r.tenant_id, r.key) for r in rows if r.kept_children}
    ctes = []
    for spec in resource.children:
        child = spec.table
        gone = delete(child).where(
            child.c.tenant_id == won.c.tenant_id,
            child.c[spec.parent_column] == won.c[key],
        )
        left = keeping | {
            (r.tenant_id, r.key) for r in rows if spec.field not in (r.children or {})
        }
        if left:
            tenants, parents = zip(*sorted(left), strict=True)
            gone = gone.where(
                tuple_(child.c.tenant_id, child.c[spec.parent_column]).not_in(
                    list(zip(tenants, parents, strict=True))
                )
            )
        ctes.append(gone.cte(f"gone_{child.name}"))
    stmt = select(won)
    for cte in ctes:
        stmt = stmt.add_cte(cte)
    written = [_written(resource, row) for row in session.execute(stmt)]
    winners = {(w.tenant_id, w.key) for w in written}
    for r in rows:
        if r.kept_children and (r.tenant_id, r.key) in winners:
            _drop_uncarried(session, resource, r)
    for spec in resource.children:
        _write_children(session, stager, spec, rows, winners)
    return written


def _drop_uncarried(session: Session, resource: Resource, row: EntityRow) -> None:
    """Children of a partial version: drop those neither carried nor kept."""
    for spec in resource.children:
        if spec.field not in (row.children or {}):
            continue
        carried = {c[spec.key] for c in (row.children or {})[spec.field]}
        keep = carried | (row.kept_children or {}).get(spec.field, set())
        child = spec.table
        key_type = child.c[spec.key].type
        session.execute(
            delete(child).where(
                child.c.tenant_id == row.tenant_id,
                child.c[spec.parent_column] == row.key,
                ~(child.c[spec.key] == func.any(bindparam(None, list(keep), ARRAY(key_type)))),
            )
        )


def _write_children(
    session: Session, stager: Stager, spec: Children, rows: list[EntityRow], won: set[Key]
) -> None:
    # One multi-row upsert may not touch a row twice: the last child per key stays, as
    # row-by-row upserts would have left it.
    unique: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for r in rows:
        items = (r.children or {}).get(spec.field)
        if items is None or (r.tenant_id, r.key) not in won:
            continue
        for c in items:
            ident = (
                (r.tenant_id, r.key, c[spec.key])
                if spec.key == "position"
                else (
                    r.tenant_id,
                    c[spec.key],
                )
            )
            unique[ident] = (
                r.tenant_id,
                c[spec.key],
                r.key,
                *(c.get(name) for name in spec.columns),
            )
    if not unique:
        return
    names = ("tenant_id", spec.key, spec.parent_column, *spec.columns)
    group = stager.copy(spec.table, names, unique.values())
    stage = stage_of(spec.table)
    conflict = ["tenant_id", spec.key] if spec.key != "position" else [
        "tenant_id", spec.parent_column, "position",
    ]  # fmt: skip
    stmt = insert(spec.table).from_select(
        list(names), select(*(stage.c[n] for n in names)).where(stage.c[GROUP] == group)
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=conflict,
            set_={c: stmt.excluded[c] for c in names if c not in conflict},
        )
    )
