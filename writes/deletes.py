"""Tombstones: a deleted entity stays, marked deleted, so a late update cannot bring it back."""

from __future__ import annotations

from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from resources.registry import Resource
from resources.rows import Tombstone


def tombstone(session: Session, resource: Resource, tombstones: list[Tombstone]) -> None:
    """Mark entities deleted (creating unknown ones as tombstones); the earliest time wins."""
    if not tombstones:
        return
    spec = resource.deletes
    named = spec.columns if spec is not None else ()
    keys = ("shopify_id",) if spec is not None else resource.keys
    rows = [
        {"tenant_id": t.tenant_id, "deleted_at": t.deleted_at}
        | dict(zip(keys, t.key if isinstance(t.key, tuple) else (t.key,), strict=True))
        | {c: dict(t.names).get(c) for c in named if c != "shopify_id"}
        for t in tombstones
    ]
    target = resource.table if spec is None else spec.tombstones
    stmt = insert(target)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", *keys],
            set_={"deleted_at": func.least(target.c.deleted_at, stmt.excluded.deleted_at)}
            | {c: func.coalesce(stmt.excluded[c], target.c[c]) for c in named if c != "shopify_id"},
        ),
        rows,
    )
    if spec is None:
        return
    # The deletion names the entity by other columns than its key: mark the rows that carry
    # any of them now; rows written later take their tombstone when they are linked.
    table = resource.table
    for row in rows:
        matches = [table.c[c] == row[c] for c in named if row.get(c) is not None]
        if not matches:
            continue
        session.execute(
            update(table)
            .where(table.c.tenant_id == row["tenant_id"], or_(*matches))
            .values(deleted_at=func.least(table.c.deleted_at, row["deleted_at"]))
        )
