"""RFM segments of the last recompute, and how customers moved between two dated snapshots.

docs/metrics.md, "RFM segments", defines the scores and the segments.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard_api.queries.customers import SEGMENTS
from models import RfmSegmentTotal, RfmSnapshot
from models.analytics import RfmSnapshotPack

ZERO = Decimal(0)


def segments(session: Session, *, tenant_id: uuid.UUID) -> dict[str, Any]:
    """Customers and their net spend per segment, every segment listed (zeros included)."""
    t = RfmSegmentTotal
    rows = session.execute(
        select(t.segment, t.customers, t.net_spend, t.as_of).where(t.tenant_id == tenant_id)
    ).all()
    by = {row.segment: (row.customers, row.net_spend) for row in rows}
    customers = sum(count for count, _ in by.values())
    return {
        "as_of": max((row.as_of for row in rows), default=None),
        "customers": customers,
        "segments": [
            {
                "segment": name,
                "customers": by.get(name, (0, ZERO))[0],
                "net_spend": by.get(name, (0, ZERO))[1],
                "share": round(by[name][0] / customers, 4) if name in by else None,
            }
            for name in SEGMENTS
        ],
    }


def snapshot_on_or_before(session: Session, tenant_id: uuid.UUID, day: date) -> date | None:
    """The newest snapshot taken on `day` or before it."""
    return session.scalar(
        select(func.max(RfmSnapshot.as_of)).where(
            RfmSnapshot.tenant_id == tenant_id, RfmSnapshot.as_of <= day
        )
    )


def _pack(session: Session, tenant_id: uuid.UUID, day: date) -> tuple[Any, Any, list[str]]:
    """A snapshot's customer ids (ascending), their segment codes, and the codes' names."""
    row = session.execute(
        select(RfmSnapshotPack.customer_ids, RfmSnapshotPack.codes, RfmSnapshotPack.segments).where(
            RfmSnapshotPack.tenant_id == tenant_id, RfmSnapshotPack.as_of == day
        )
    ).one_or_none()
    if row is None:
        return np.empty(0, np.int64), np.empty(0, np.int64), []
    ids = np.frombuffer(row.customer_ids, dtype=">i8").astype(np.int64)
    return ids, np.frombuffer(row.codes, dtype=">i2").astype(np.int64), list(row.segments)


def movement(session: Session, *, tenant_id: uuid.UUID, first: date, second: date) -> list[Any]:
    """(from segment, to segment, customers) between the snapshots of `first` and `second`.

    Both snapshots joined on the customer, in memory over their packed rows (the recompute
    writes them): a customer in only one moved from or to nothing (None).
    """
    ids_a, codes_a, names_a = _pack(session, tenant_id, first)
    ids_b, codes_b, names_b = _pack(session, tenant_id, second)
    # Code 0 stands for "not in that snapshot"; segment i is code i + 1.
    width = len(names_b) + 1
    # Both ascending and unique: where each of the first's customers sits in the second.
    at = np.searchsorted(ids_b, ids_a)
    found = at < len(ids_b)
    found[found] = ids_b[at[found]] == ids_a[found]
    in_a, in_b = np.flatnonzero(found), at[found]
    only_a = ~found
    only_b = np.ones(len(ids_b), dtype=bool)
    only_b[in_b] = False
    pairs = np.concatenate(
        [
            (codes_a[in_a] + 1) * width + codes_b[in_b] + 1,
            (codes_a[only_a] + 1) * width,
            codes_b[only_b] + 1,
        ]
    )
    counts = np.bincount(pairs, minlength=(len(names_a) + 1) * width)
    from_names: list[str | None] = [None, *names_a]
    to_names: list[str | None] = [None, *names_b]
    moves = [
        {"from_segment": from_names[int(p) // width], "to_segment": to_names[int(p) % width],
         "customers": int(counts[p])}
        for p in np.flatnonzero(counts)
    ]  # fmt: skip
    return sorted(moves, key=lambda m: (_nulls_first(m["from_segment"]),
                                        _nulls_first(m["to_segment"])))  # fmt: skip


def _nulls_first(name: str | None) -> tuple[bool, str]:
    return (name is not None, name or "")
