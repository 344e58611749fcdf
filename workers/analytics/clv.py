"""Fit one tenant's CLV models and store the fit and its predictions (docs/metrics.md).

A fit runs in steps, so that no transaction stays open while the models are fitted:
`start_fit` records a `running` fit (one transaction), `read_inputs` reads the inputs (another),
`compute_fit` fits with no database (calibration and holdout first, for the quality report, then
the whole history), and `finish_fit` writes every prediction and marks the fit finished in one
transaction. Killed midway, a fit leaves only its `running` row, which a later fit marks
`abandoned`; the previous finished fit stays the one the API answers with.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from core.settings import Settings
from models.clv import ClvFit, ClvPrediction
from models.db import session_scope
from models.orders import Order
from models.tenant import Tenant
from workers.analytics.clv_figures import (
    arrays,
    distribution,
    holdout_quality,
    predictions,
    repeaters,
)
from workers.analytics.clv_store import copy_predictions
from workers.analytics.clv_summary import Summary, summarize_both

BATCH = 10_000  # predictions per COPY
# A `running` fit older than this was killed (the task's hard limit is shorter).
STALE_AFTER = timedelta(hours=1)


class InsufficientHistory(Exception):
    """Too little history to fit, or a fit that did not converge: said in the message."""


@dataclass
class Outcome:
    """What a fit found: its status and figures, and the predictions to store."""

    status: str
    message: str | None = None
    customers: int | None = None
    repeat_customers: int | None = None
    history_days: int | None = None
    parameters: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    distribution: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    library: str | None = None
    predictions: list[dict[str, Any]] = field(default_factory=list)


def start_fit(
    session: Session, *, tenant_id: uuid.UUID, job_id: str | None, now: datetime
) -> ClvFit:
    """Record a running fit as of the shop's local today; mark fits killed earlier abandoned."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    session.execute(
        update(ClvFit)
        .where(
            ClvFit.tenant_id == tenant_id,
            ClvFit.status == "running",
            ClvFit.started_at < now - STALE_AFTER,
        )
        .values(status="abandoned", finished_at=now, message="The fit stopped before it ended.")
    )
    currency = session.scalar(
        select(Order.currency)
        .where(Order.tenant_id == tenant_id, Order.currency.is_not(None))
        .order_by(Order.created_at.desc().nulls_last())
        .limit(1)
    )
    fit = ClvFit(
        tenant_id=tenant_id,
        id=uuid.uuid4(),
        status="running",
        job_id=job_id,
        started_at=now,
        as_of=now.astimezone(ZoneInfo(tenant.timezone)).date(),
        timezone=tenant.timezone,
        currency=currency,
    )
    session.add(fit)
    session.flush()
    return fit


@dataclass(frozen=True)
class Inputs:
    """The customers' inputs before the holdout days (with what they did in them), and now."""

    calibration: Summary
    full: Summary
    seconds: float
    previous: dict[str, Any] | None = None  # the last complete fit's parameters


def read_inputs(
    session: Session, settings: Settings, *, tenant_id: uuid.UUID, tz: str, as_of: date
) -> Inputs:
    """Both summaries in one pass: the quality check and the fit read the same rows."""
    started = time.perf_counter()
    holdout_end = as_of - timedelta(days=settings.clv_holdout_days)
    calibration, full = summarize_both(
        session, tenant_id=tenant_id, tz=tz, end_day=holdout_end, final_day=as_of
    )
    previous = session.scalar(
        select(ClvFit.parameters)
        .where(ClvFit.tenant_id == tenant_id, ClvFit.status == "complete")
        .order_by(ClvFit.finished_at.desc())
        .limit(1)
    )
    return Inputs(calibration, full, time.perf_counter() - started, previous)


def compute_fit(settings: Settings, inputs: Inputs) -> Outcome:
    """Fit (no database needed); too little history comes back as its own outcome."""
    full = inputs.full
    outcome = Outcome(
        status="running",
        customers=len(full),
        repeat_customers=full.repeat_customers,
        history_days=max(full.age, default=0),
        timings={"summary_seconds": inputs.seconds},
    )
    try:
        check_history(settings, full, inputs.calibration)
        fit_models(settings, outcome, inputs)
    except InsufficientHistory as exc:
        outcome.status, outcome.message = "insufficient_history", str(exc)
        outcome.predictions = []
    return outcome


def check_history(settings: Settings, full: Summary, calibration: Summary) -> None:
    """Refuse a fit whose history is too short or whose calibration has too few repeaters."""
    days = max(full.age, default=0)
    if not len(full):
        raise InsufficientHistory("The shop has no orders from customers yet.")
    if days < settings.clv_min_history_days:
        raise InsufficientHistory(
            f"The shop's customer history spans {days} days; a fit needs "
            f"{settings.clv_min_history_days}."
        )
    if calibration.repeat_customers < settings.clv_min_repeat_customers:
        raise InsufficientHistory(
            f"{calibration.repeat_customers} customers bought more than once before the "
            f"last {settings.clv_holdout_days} days; a fit needs "
            f"{settings.clv_min_repeat_customers}."
        )


def fit_models(settings: Settings, outcome: Outcome, inputs: Inputs) -> None:
    """Holdout quality first, then the fit on the whole history and its predictions."""
    from workers.analytics import clv_model  # seconds to import: only where a fit runs

    timings = outcome.timings
    tick = time.perf_counter()
    try:
        # Each fit starts where a nearby one ended: the holdout's at the last complete fit,
        # the whole history's at the holdout's. Same optimum, a fraction of the iterations.
        calibration, full = inputs.calibration, inputs.full
        outcome.quality = holdout_quality(
            clv_model, settings.clv_holdout_days, calibration, inputs.previous
        )
        timings["holdout_seconds"] = time.perf_counter() - tick
        tick = time.perf_counter()
        before = outcome.quality["parameters"]
        purchases = clv_model.fit_purchases(*arrays(full)[:3], start=before["bg_nbd"])
        spend = clv_model.fit_spend(*repeaters(full), start=before["gamma_gamma"])
        timings["fit_seconds"] = time.perf_counter() - tick
        tick = time.perf_counter()
        outcome.predictions = predictions(full, purchases, spend)
    except clv_model.NotConverged as exc:
        raise InsufficientHistory(f"The models did not converge: {exc}.") from exc
    timings["predict_seconds"] = time.perf_counter() - tick
    outcome.parameters = {"bg_nbd": purchases.parameters, "gamma_gamma": spend.parameters}
    outcome.distribution = distribution(outcome.predictions)
    outcome.library = clv_model.LIBRARY
    outcome.status = "complete"


def finish_fit(
    session: Session, *, tenant_id: uuid.UUID, fit_id: uuid.UUID, outcome: Outcome, now: datetime
) -> None:
    """Store the predictions, drop those of earlier fits, and finish the fit: one transaction."""
    tick = time.perf_counter()
    for start in range(0, len(outcome.predictions), BATCH):
        copy_predictions(session, tenant_id, fit_id, outcome.predictions[start : start + BATCH])
    if outcome.status == "complete":
        session.execute(
            delete(ClvPrediction).where(
                ClvPrediction.tenant_id == tenant_id, ClvPrediction.fit_id != fit_id
            )
        )
        # The rows were all just replaced: fresh statistics, or the planner may sort the
        # whole table for a page that an index scan gives in a millisecond.
        session.execute(text("ANALYZE clv_predictions"))
    outcome.timings["store_seconds"] = time.perf_counter() - tick
    timings = {k: round(v, 3) for k, v in outcome.timings.items()}
    session.execute(
        update(ClvFit)
        .where(ClvFit.tenant_id == tenant_id, ClvFit.id == fit_id)
        .values(
            status=outcome.status,
            message=outcome.message,
            finished_at=now,
            customers=outcome.customers,
            repeat_customers=outcome.repeat_customers,
            history_days=outcome.history_days,
            parameters=outcome.parameters,
            quality=outcome.quality,
            distribution=outcome.distribution,
            timings=timings | {"total_seconds": round(sum(timings.values()), 3)},
            library=outcome.library,
        )
    )


@dataclass(frozen=True)
class FitDone:
    fit_id: str
    status: str
    customers: int | None
    seconds: float


def fit_tenant(settings: Settings, tenant_id: uuid.UUID, *, job_id: str | None = None) -> FitDone:
    """One whole fit of one tenant: start, compute, finish (the task's body)."""
    url = settings.database_url
    with session_scope(url) as session:
        fit = start_fit(session, tenant_id=tenant_id, job_id=job_id, now=datetime.now(UTC))
        fit_id, tz, as_of, started = fit.id, fit.timezone, fit.as_of, fit.started_at
    with session_scope(url) as session:
        inputs = read_inputs(session, settings, tenant_id=tenant_id, tz=tz, as_of=as_of)
    outcome = compute_fit(settings, inputs)  # no transaction open while the models fit
    with session_scope(url) as session:
        finish_fit(
            session, tenant_id=tenant_id, fit_id=fit_id, outcome=outcome, now=datetime.now(UTC)
        )
    seconds = (datetime.now(UTC) - started).total_seconds()
    return FitDone(str(fit_id), outcome.status, outcome.customers, round(seconds, 3))


def tenant_ids(session: Session) -> list[uuid.UUID]:
    """The tenants the nightly fit covers: every active one."""
    return list(
        session.scalars(
            select(Tenant.id)
            .where(Tenant.status == "active")
            .order_by(Tenant.created_at, Tenant.id)
        )
    )
