"""The daily rollups' days recomputed from the rows: the rebuild, and the write path's fallback.

A day's rows are replaced by what the rollup statements (writes/rollup_sql.py,
writes/product_sql.py) give for it now, under a per-(tenant, day) advisory lock taken in day
order, so a recompute and a concurrent write of the same day never leave the answer of the one
that saw less.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from models import ProductSalesDaily, SalesDaily
from models.base import table_of
from writes.product_sql import PRODUCTS_SQL
from writes.rollup_sql import PLACED_AT
from writes.sales_sql import SALES_SQL

_ZONE = text(
    "INSERT INTO rollup_zones (tenant_id, tz) "
    "SELECT id, COALESCE(timezone, 'UTC') FROM tenants WHERE id = :tenant "
    "ON CONFLICT (tenant_id) DO NOTHING"
)
LOCK_DAYS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(CAST(:tenant AS text) || d::text, 13)) "
    "FROM unnest(CAST(:days AS date[])) AS d ORDER BY d"
)
_ALL_DAYS = text(f"""
SELECT MIN(at) AS lo, MAX(at) AS hi FROM (
    SELECT MIN({PLACED_AT.format(t="o")}) AS at FROM orders AS o WHERE o.tenant_id = :tenant
    UNION ALL SELECT MAX({PLACED_AT.format(t="o")}) FROM orders AS o WHERE o.tenant_id = :tenant
    UNION ALL SELECT MAX(o.cancelled_at) FROM orders AS o WHERE o.tenant_id = :tenant
    UNION ALL SELECT MIN({PLACED_AT.format(t="r")}) FROM refunds AS r WHERE r.tenant_id = :tenant
    UNION ALL SELECT MAX({PLACED_AT.format(t="r")}) FROM refunds AS r WHERE r.tenant_id = :tenant
) AS x
""")  # noqa: S608 (built from constants only)
# Rollups whose rows are never deleted but by a rebuild (which gives the tenant's rollup_zones
# row a new built_at): dashboard processes keep them in memory and apply the rows written since
# their last read (dashboard_api/queries/product_columns.py). A row left all zero counts as none.
KEEPS_ROWS = (ProductSalesDaily,)
# Recomputed in windows of this many days at a time, so a rebuild's statements stay small.
REBUILD_WINDOW_DAYS = 31


def columns_of(model: Any) -> tuple[list[str], list[str]]:
    """(the key columns after the tenant, the summed columns) of a rollup table."""
    table = table_of(model)
    keys = [
        c for c in ("day", "channel", "customer_type", "product_id", "variant_id") if c in table.c
    ]
    return keys, [c.name for c in table.columns if not c.primary_key]


def zone_of(session: Session, tenant_id: uuid.UUID) -> str:
    """The zone the tenant's rollups are bucketed in (its own zone, recorded on first use)."""
    tz = session.scalar(text("SELECT tz FROM rollup_zones WHERE tenant_id = :t"), {"t": tenant_id})
    if tz is None:
        session.execute(_ZONE, {"tenant": tenant_id})
        tz = session.scalar(
            text("SELECT tz FROM rollup_zones WHERE tenant_id = :t"), {"t": tenant_id}
        )
    return tz or "UTC"


def windows(days: Iterable[date]) -> tuple[list[date], list[date]]:
    """Sorted days as disjoint windows [start, end): runs of consecutive days merged."""
    starts: list[date] = []
    ends: list[date] = []
    for day in sorted(set(days)):
        if ends and ends[-1] == day:
            ends[-1] = day + timedelta(days=1)
        else:
            starts.append(day)
            ends.append(day + timedelta(days=1))
    return starts, ends


def recompute(session: Session, tenant_id: uuid.UUID, days: set[date], *, tz: str) -> None:
    """Replace the rollup rows of `days` by what the rows give now."""
    if not days:
        return
    ordered = sorted(days)
    session.execute(LOCK_DAYS, {"tenant": str(tenant_id), "days": ordered})
    starts, ends = windows(ordered)
    params = {"tenant": tenant_id, "tz": tz, "starts": starts, "ends": ends, "days": ordered}
    for model, sql in ((SalesDaily, SALES_SQL), (ProductSalesDaily, PRODUCTS_SQL)):
        table = table_of(model)
        keys, sums = columns_of(model)
        names = ", ".join(keys + sums)
        nonzero = " OR ".join(f"{c} <> 0" for c in sums)
        if model in KEEPS_ROWS:
            # Its rows stay (dashboard processes apply only rows written, never deletions):
            # the days' rows are zeroed, then the fresh sums written over them.
            zero = ", ".join(f"{c} = 0" for c in sums)
            session.execute(
                text(
                    f"UPDATE {table.name} SET {zero} WHERE tenant_id = :tenant "  # noqa: S608
                    f"AND day = ANY(:days) AND ({nonzero})"
                ),
                params,
            )
            conflict = f"ON CONFLICT (tenant_id, {', '.join(keys)}) DO UPDATE SET " + ", ".join(
                f"{c} = EXCLUDED.{c}" for c in sums
            )
        else:
            session.execute(
                text(f"DELETE FROM {table.name} WHERE tenant_id = :tenant AND day = ANY(:days)"),  # noqa: S608
                params,
            )
            conflict = ""
        # A group whose sums are all zero has no row, as the write path leaves none.
        session.execute(
            text(
                f"INSERT INTO {table.name} (tenant_id, {names}) "  # noqa: S608
                f"SELECT CAST(:tenant AS uuid), {names} FROM ({sql}) AS q WHERE {nonzero} "
                f"{conflict}"
            ),
            params,
        )


def rebuild(session: Session, tenant_id: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """Recompute every rollup row of one tenant (or of all), in the tenant's zone now.

    For migrations, a change of the shop's zone and disaster recovery; returns the days per
    tenant. It runs in the caller's transaction.
    """
    tenants = (
        [tenant_id]
        if tenant_id
        else list(session.scalars(text("SELECT id FROM tenants ORDER BY id")))
    )
    done: dict[uuid.UUID, int] = {}
    for tid in tenants:
        session.execute(text("DELETE FROM rollup_zones WHERE tenant_id = :t"), {"t": tid})
        for name in ("sales_daily", "product_sales_daily"):
            wipe = f"DELETE FROM {name} WHERE tenant_id = :t"  # noqa: S608
            session.execute(text(wipe), {"t": tid})
        tz = zone_of(session, tid)
        span = session.execute(_ALL_DAYS, {"tenant": tid}).one()
        if span.lo is None:
            done[tid] = 0
            continue
        first, last = _local_day(session, span.lo, tz), _local_day(session, span.hi, tz)
        day, count = first, 0
        while day <= last:
            chunk = {day + timedelta(days=n) for n in range(REBUILD_WINDOW_DAYS)}
            recompute(session, tid, {d for d in chunk if d <= last}, tz=tz)
            day += timedelta(days=REBUILD_WINDOW_DAYS)
        count = (last - first).days + 1
        done[tid] = count
    return done


def _local_day(session: Session, instant: Any, tz: str) -> date:
    return session.scalar(
        text("SELECT CAST(timezone(:tz, CAST(:at AS timestamptz)) AS date)"),
        {"tz": tz, "at": instant},
    )
