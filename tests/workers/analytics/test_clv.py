"""A tenant's CLV fit, end to end below the task: deliveries through the real pipeline, the
inputs' SQL against a plain-Python reading of the payloads, the stored predictions against the
models' closed forms applied by hand to the stored parameters, and what a fit leaves behind
when the history is too short, when it is killed, and when another shop shares the database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from flask.testing import FlaskClient
from scipy.special import hyp2f1
from sqlalchemy import func, select

from core import jobs
from core.settings import Settings
from models.clv import ClvFit, ClvPrediction
from models.db import session_scope
from models.tenant import Tenant
from tests.support import clv_oracle as oracle
from tests.support.accounts import Account, register_shop
from tests.support.clv_scenario import Truth, deliver_once, shop_history
from tests.support.customer_scenario import deliver
from workers.analytics.clv import fit_tenant, start_fit, tenant_ids
from workers.analytics.clv_figures import HORIZONS
from workers.analytics.clv_summary import summarize_both
from workers.runtime import celery_config

NY = "America/New_York"
TRUTH = Truth(r=1.2, alpha=30.0, a=0.6, b=3.0, p=5.0, q=6.0, v=200.0)
HOLDOUT = 60


def tuned(settings: Settings) -> Settings:
    """Thresholds a test shop of a hundred customers passes."""
    return settings.with_overrides(
        clv_min_history_days=120, clv_min_repeat_customers=20, clv_holdout_days=HOLDOUT
    )


def today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(NY)).date()


def shop_with(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    seed: int,
    customers: int,
    *,
    retried: bool = False,
) -> tuple[Account, list[Any]]:
    """A New York shop with `customers` drawn histories, delivered once (or, `retried`, every
    payload twice and shuffled, as Shopify's retries and re-sends deliver them)."""
    account = register_shop(api_client, settings, NY)
    data = shop_history(seed, customers, TRUTH, today(), NY)
    if retried:
        deliver(client, settings, account, data, seed)
    else:
        deliver_once(client, settings, account, data)
    return account, data


def fits(settings: Settings, tenant_id: uuid.UUID) -> list[ClvFit]:
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(ClvFit).where(ClvFit.tenant_id == tenant_id)).all()
        session.expunge_all()
        return list(rows)


def stored(settings: Settings, tenant_id: uuid.UUID) -> dict[int, dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(ClvPrediction).where(ClvPrediction.tenant_id == tenant_id)
        ).scalars()
        return {
            p.customer_id: {c.key: getattr(p, c.key) for c in ClvPrediction.__table__.columns}
            for p in rows
        }


def test_the_inputs_are_the_payloads_purchase_days_net_of_refunds_by_the_cutoff(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account, data = shop_with(api_client, client, settings, seed=5, customers=40, retried=True)
    end, final = today() - timedelta(days=HOLDOUT), today()
    with session_scope(settings.database_url) as session:
        calibration, full = summarize_both(
            session, tenant_id=account["tenant_id"], tz=NY, end_day=end, final_day=final
        )
    for got, expected in (
        (calibration, oracle.summary(data, NY, end, final)),
        (full, oracle.summary(data, NY, final)),
    ):
        assert sorted(got.customer_ids) == sorted(expected)
        for i, cid in enumerate(got.customer_ids):
            row = {
                "frequency": got.frequency[i],
                "recency": got.recency[i],
                "age": got.age[i],
                "monetary": got.monetary[i],
                "holdout_purchases": got.holdout_purchases[i],
                "holdout_value": got.holdout_value[i],
            }
            assert row == expected[cid], cid
    # The scenario does hold what the definitions are about.
    values = oracle.summary(data, NY, final)
    assert any(v["frequency"] > 2 for v in values.values())


def closed_forms(parameters: dict[str, Any], row: dict[str, Any]) -> dict[str, float]:
    """BG/NBD (Fader, Hardie & Lee 2005, eq. 10 and P(alive)) and the Gamma-Gamma conditional
    mean, written out by hand over one customer's stored inputs."""
    r, alpha, a, b = (parameters["bg_nbd"][k] for k in ("r", "alpha", "a", "b"))
    p, q, v = (parameters["gamma_gamma"][k] for k in ("p", "q", "v"))
    x, t_x, big_t = row["frequency"], row["recency_days"], row["age_days"]
    odds = (a / (b + x - 1)) * ((alpha + big_t) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
    out = {"probability_alive": 1 / (1 + odds)}
    mean = max(float(row["monetary_value"] or 0), 0.0)
    spend = (p * (v + x * mean)) / (p * x + q - 1)
    out["expected_order_value"] = spend
    for horizon, t in HORIZONS.items():
        head = (a + b + x - 1) / (a - 1)
        tail = ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, t / (alpha + big_t + t)
        )
        out[f"purchases_{horizon}"] = head * (1 - tail) / (1 + odds)
        out[f"value_{horizon}"] = out[f"purchases_{horizon}"] * spend
    return out


def test_a_fit_stores_every_customers_predictions_from_its_parameters(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account, data = shop_with(api_client, client, settings, seed=7, customers=100)
    # Another shop with the same customer ids and other histories, in the same tables.
    other, _ = shop_with(api_client, client, settings, seed=8, customers=30)

    done = fit_tenant(tuned(settings), account["tenant_id"], job_id="job-1")

    assert done.status == "complete", fits(settings, account["tenant_id"])[0].message
    (fit,) = fits(settings, account["tenant_id"])
    expected = oracle.summary(data, NY, fit.as_of)
    assert fit.status == "complete" and fit.job_id == "job-1" and fit.finished_at
    assert fit.customers == len(expected)
    assert fit.repeat_customers == sum(1 for v in expected.values() if v["frequency"] > 0)
    assert fit.currency == "USD" and fit.library and fit.library.startswith("pymc-marketing")
    holdout = oracle.summary(data, NY, fit.as_of - timedelta(days=HOLDOUT), fit.as_of)
    assert fit.quality["customers"] == len(holdout)
    assert fit.quality["purchases_actual"] == sum(v["holdout_purchases"] for v in holdout.values())
    assert Decimal(fit.quality["value_actual"]) == oracle.cents(
        sum((v["holdout_value"] for v in holdout.values()), Decimal(0))
    )
    assert fit.quality["purchases_mae"] >= 0 and fit.timings["total_seconds"] > 0

    predictions = stored(settings, account["tenant_id"])
    assert set(predictions) == set(expected)
    for cid, row in predictions.items():
        want = expected[cid]
        assert (row["frequency"], row["recency_days"], row["age_days"]) == (
            want["frequency"], want["recency"], want["age"]
        )  # fmt: skip
        assert row["monetary_value"] == want["monetary"]
        by_hand = closed_forms(fit.parameters, row)
        for name in ("probability_alive", "purchases_3m", "purchases_6m", "purchases_12m"):
            assert row[name] == pytest.approx(by_hand[name], rel=1e-6, abs=1e-9), (cid, name)
        for name in ("expected_order_value", "value_3m", "value_6m", "value_12m"):
            assert float(row[name]) == pytest.approx(by_hand[name], abs=0.005 + 1e-9), name
    total = sum((p["value_12m"] for p in predictions.values()), Decimal(0))
    assert Decimal(fit.distribution["value"]["12m"]) == total
    assert fit.distribution["customers"] == len(expected)
    # The other shop's customers are neither counted nor given predictions.
    assert fits(settings, other["tenant_id"]) == []
    assert stored(settings, other["tenant_id"]) == {}


def test_too_little_history_is_a_finished_fit_without_predictions(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account, _ = shop_with(api_client, client, settings, seed=9, customers=12)
    done = fit_tenant(tuned(settings), account["tenant_id"])
    assert done.status == "insufficient_history"
    (fit,) = fits(settings, account["tenant_id"])
    assert fit.status == "insufficient_history" and fit.finished_at
    assert "a fit needs 20" in (fit.message or "")
    assert fit.parameters is None and stored(settings, account["tenant_id"]) == {}


def test_a_shop_without_orders_gets_a_clear_answer(settings: Settings, make_tenant: Any) -> None:
    tenant = make_tenant()
    done = fit_tenant(settings, tenant["id"])
    (fit,) = fits(settings, tenant["id"])
    assert done.status == fit.status == "insufficient_history"
    assert fit.message == "The shop has no orders from customers yet."


def test_a_fit_killed_midway_leaves_the_previous_one_and_a_rerun_starts_cleanly(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account, _ = shop_with(api_client, client, settings, seed=7, customers=100)
    tenant_id = account["tenant_id"]
    first = fit_tenant(tuned(settings), tenant_id)
    before = stored(settings, tenant_id)
    # A fit that started two hours ago and never finished (its worker was killed).
    with session_scope(settings.database_url) as session:
        killed = start_fit(
            session,
            tenant_id=tenant_id,
            job_id="killed",
            now=datetime.now(UTC) - timedelta(hours=2),
        ).id
    assert stored(settings, tenant_id) == before

    second = fit_tenant(tuned(settings), tenant_id)

    by_id = {f.id: f for f in fits(settings, tenant_id)}
    assert by_id[killed].status == "abandoned" and by_id[killed].finished_at
    assert by_id[uuid.UUID(first.fit_id)].status == "complete"
    assert by_id[uuid.UUID(second.fit_id)].status == "complete"
    with session_scope(settings.database_url) as session:
        kept = session.execute(
            select(ClvPrediction.fit_id, func.count())
            .where(ClvPrediction.tenant_id == tenant_id)
            .group_by(ClvPrediction.fit_id)
        ).all()
    # Only the newest complete fit keeps predictions: the same customers, refitted.
    assert kept == [(uuid.UUID(second.fit_id), len(before))]
    assert np.isclose(
        sum(float(p["value_12m"]) for p in stored(settings, tenant_id).values()),
        sum(float(p["value_12m"]) for p in before.values()),
        rtol=1e-3,
    )


def test_fits_run_nightly_for_every_active_shop_on_the_sync_queue(
    settings: Settings, make_tenant: Any
) -> None:
    config = celery_config(settings)
    entry = config["beat_schedule"]["fit-clv"]
    assert entry["task"] == jobs.CLV_FIT_ALL
    assert entry["schedule"] == timedelta(seconds=settings.clv_interval) == timedelta(days=1)
    for name in (jobs.CLV_FIT_ALL, jobs.CLV_FIT):
        assert config["task_routes"][name] == {"queue": jobs.sync_queue(settings)}
    shops = [make_tenant()["id"] for _ in range(3)]
    with session_scope(settings.database_url) as session:
        session.get_one(Tenant, shops[1]).status = "uninstalled"
    with session_scope(settings.database_url) as session:
        assert tenant_ids(session) == [shops[0], shops[2]]
