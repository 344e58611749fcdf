"""Tombstones: a deleted entity stays, marked deleted, so a late update cannot bring it back."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from resources.registry import Resource
from resources.rows import Tombstone


def tombstone(session: Session, resource: Resource, tombstones: list[Tombstone]) -> None:
    """Mark entities deleted (creating unknown ones as tombstones); the earliest time wins."""
    if not tombstones:
        return
    rows = [
        {"tenant_id": t.tenant_id, "shopify_id": t.shopify_id, "deleted_at": t.deleted_at}
        for t in tombstones
    ]
    spec = resource.deletes
    target = resource.table if spec is None else spec.tombstones
    stmt = insert(target)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "shopify_id"],
            set_={"deleted_at": func.least(target.c.deleted_at, stmt.excluded.deleted_at)},
        ),
        rows,
    )
    if spec is None:
        return
    # The deletion names the entity by another column than its key: mark the rows that carry
    # it now; rows written later take their tombstone when they are linked.
    table = resource.table
    for row in rows:
        session.execute(
            update(table)
            .where(table.c.tenant_id == row["tenant_id"], table.c[spec.column] == row["shopify_id"])
            .values(deleted_at=func.least(table.c.deleted_at, row["deleted_at"]))
        )
