"""The one write path: webhooks, /ingest, backfill and reconcile all write entities through here.

`write_rows` takes the neutral rows every source is mapped into (resources/rows.py) and applies
the same rules to all of them: newest version per entity, last-writer-wins against what is
stored, children that follow the winning version, embedded objects as versions of their own
entities, tombstones that nothing resurrects, the links between orders, checkouts and carts,
and the daily rollups of what changed (writes/rollups.py).
It takes a Session and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from resources import RESOURCES
from resources.rows import EntityRow, Tombstone, newest_per_key
from writes.deletes import tombstone
from writes.entities import Written, upsert_rows
from writes.links import link_checkouts_and_carts
from writes.rollups import Touched
from writes.staging import Stager

__all__ = ["WriteResult", "write_rows"]


@dataclass
class WriteResult:
    """What a write did, for the caller's bookkeeping (stale deliveries, drift counts)."""

    won: list[EntityRow] = field(default_factory=list)  # written: newer than what was stored
    lost: list[EntityRow] = field(default_factory=list)  # an equal or newer version stays
    inserted: int = 0  # of `won`, entities new to their table
    tenants: set[uuid.UUID] = field(default_factory=set)  # tenants whose rows changed


def write_rows(
    session: Session, rows: Sequence[EntityRow], tombstones: Sequence[Tombstone] = ()
) -> WriteResult:
    """Write versions and deletions of entities, in registry order; returns what won.

    The rows given come first, resource by resource; then, in a second wave, the objects
    embedded in them (an order's customer and refunds), then those embedded in those (a
    refund's transactions), each wave newest version per entity and last-writer-wins.
    """
    stager = Stager(session)
    result = WriteResult()
    touched = Touched.before(session, rows, tombstones)
    links: dict[str, set[tuple[uuid.UUID, Any]]] = {"checkouts": set(), "carts": set()}
    wave: Sequence[EntityRow] = rows
    first = True
    while wave or first:
        embedded: list[EntityRow] = []
        for name, resource in RESOURCES.items():
            mine = [r for r in wave if r.resource == name]
            latest = newest_per_key(mine)
            written = _upsert(session, stager, name, latest)
            embedded += [e for r in mine for e in r.embedded]
            result.tenants |= {w.tenant_id for w in written}
            if first:
                won = {(w.tenant_id, w.key) for w in written}
                winners = {id(r) for r in latest if (r.tenant_id, r.key) in won}
                result.won += [r for r in latest if id(r) in winners]
                result.lost += [r for r in mine if id(r) not in winners]
                result.inserted += sum(w.inserted for w in written)
                gone = [t for t in tombstones if t.resource == name]
                tombstone(session, resource, gone)
                result.tenants |= {t.tenant_id for t in gone}
            for row in mine:
                for target, token in resource.link_tokens(row).items():
                    links[target].add((row.tenant_id, token))
        wave, first = embedded, False
    link_checkouts_and_carts(session, links["checkouts"], links["carts"])
    # In the same transaction: the rollups never disagree with the rows they sum.
    touched.apply(session)
    return result


def _upsert(session: Session, stager: Stager, name: str, rows: list[EntityRow]) -> list[Written]:
    return upsert_rows(session, stager, RESOURCES[name], rows) if rows else []
