"""The checkout funnel by day: checkouts started on each local day of a range, by the status
they have now, and the value of those abandoned and recovered, from the checkout columns kept
in memory (dashboard_api/queries/columns.py). docs/metrics.md ("Checkouts") has the
definitions; the range's totals are the insights' own checkout figures. Money is in
ten-thousandths in memory and summed in int64, so the figures are exact.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from dashboard_api.queries import columns
from dashboard_api.queries.insights import CHECKOUTS, STATUSES, checkout_rates
from dashboard_api.queries.ranges import DayRange

COUNTED = ("open", "completed", "abandoned", "recovered")
VALUED = ("abandoned", "recovered")


def _money(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


def checkout_funnel(session: Session, *, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
    """Per local day and for the range: checkouts started, and how many are open, completed,
    abandoned or recovered now; the abandoned and recovered value (exact)."""
    edges = rng.day_edges(session)
    days = len(edges) - 1
    with columns.reading(session, CHECKOUTS, tenant_id) as rows:
        created = rows["created"]
        chosen = (rows["alive"] == 1) & (created >= edges[0]) & (created < edges[-1])
        day = np.searchsorted(edges, created[chosen], side="right") - 1
        status, price = rows["status"][chosen], rows["price"][chosen].astype(np.int64)
    started = np.bincount(day, minlength=days)
    counts = {s: np.bincount(day[status == STATUSES.index(s)], minlength=days) for s in COUNTED}
    values = {}
    for s in VALUED:
        mine = status == STATUSES.index(s)
        # int64 sums per day, exact (np.add.at, not float weights).
        sums = np.zeros(days, dtype=np.int64)
        np.add.at(sums, day[mine], price[mine])
        values[s] = sums
    out_days = [
        {"date": d, "started": int(started[i])}
        | {s: int(counts[s][i]) for s in COUNTED}
        | {f"{s}_value": _money(int(values[s][i])) for s in VALUED}
        for i, d in enumerate(rng.days)
    ]
    totals: dict[str, Any] = {"started": int(started.sum())}
    totals |= {s: int(counts[s].sum()) for s in COUNTED}
    totals |= {f"{s}_value": _money(int(values[s].sum())) for s in VALUED}
    totals |= checkout_rates(
        completed=totals["completed"], abandoned=totals["abandoned"], recovered=totals["recovered"]
    )
    return {"start": rng.start, "end": rng.end, "tz": rng.tz, "totals": totals, "days": out_days}
