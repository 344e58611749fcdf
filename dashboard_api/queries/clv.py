"""Predictive CLV reads: the tenant's latest finished fit, and its predictions a page at a time.

The latest finished fit is the one answered with (docs/metrics.md, "Predictive CLV"): a fit
still running, or killed, never replaces it. Predictions exist only for a complete fit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard_api.queries.pagination import Sort
from models.clv import ClvFit, ClvPrediction

SORTS = {
    "value_12m": ClvPrediction.value_12m,
    "purchases_12m": ClvPrediction.purchases_12m,
    "probability_alive": ClvPrediction.probability_alive,
    "customer_id": ClvPrediction.customer_id,
}
DEFAULT_SORT = "-value_12m"
_KEY = (ClvPrediction.customer_id,)
_COLUMNS = [c for c in ClvPrediction.__table__.columns if c.key not in ("tenant_id", "fit_id")]


def latest_fit(session: Session, *, tenant_id: uuid.UUID) -> ClvFit | None:
    """The newest finished fit (complete or insufficient history), or None."""
    return session.scalar(
        select(ClvFit)
        .where(
            ClvFit.tenant_id == tenant_id,
            ClvFit.status.in_(("complete", "insufficient_history")),
        )
        .order_by(ClvFit.finished_at.desc(), ClvFit.id)
        .limit(1)
    )


def running_fit(session: Session, *, tenant_id: uuid.UUID) -> ClvFit | None:
    """The newest fit still running, if any."""
    return session.scalar(
        select(ClvFit)
        .where(ClvFit.tenant_id == tenant_id, ClvFit.status == "running")
        .order_by(ClvFit.started_at.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def list_predictions(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    fit_id: uuid.UUID,
    sort: str = DEFAULT_SORT,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """One page of a fit's predictions; raises CursorError for a cursor it did not make."""
    order = Sort.parse(sort, SORTS, _KEY)
    items: list[dict[str, Any]] = []
    for segment in order.segments(order.decode(cursor) if cursor else None):
        query = _scoped(tenant_id, fit_id).order_by(*segment.order_by).limit(limit + 1 - len(items))
        if segment.where is not None:
            query = query.where(segment.where)
        items.extend(dict(r._mapping) for r in session.execute(query))
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return Page(items, order.encode(items[-1]) if more and items else None)


def iter_predictions(
    session: Session, *, tenant_id: uuid.UUID, fit_id: uuid.UUID, sort: str = DEFAULT_SORT
) -> Iterator[dict[str, Any]]:
    """Every prediction of a fit in the sort order, streamed from a server-side cursor."""
    order = Sort.parse(sort, SORTS, _KEY)
    query = _scoped(tenant_id, fit_id).order_by(*order.segments(None)[0].order_by)
    for row in session.execute(query.execution_options(yield_per=1000)):
        yield dict(row._mapping)


def _scoped(tenant_id: uuid.UUID, fit_id: uuid.UUID) -> Any:
    return select(*_COLUMNS).where(
        ClvPrediction.tenant_id == tenant_id, ClvPrediction.fit_id == fit_id
    )
