"""The figures of a fit: holdout quality, per-customer predictions and their distribution.

Horizons are in days, a month being 365.25 / 12 of them; predicted money is rounded half up to
the cent (docs/metrics.md, "Predictive CLV").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from workers.analytics.clv_summary import Summary

CENT = Decimal("0.01")
MONTH_DAYS = 365.25 / 12
HORIZONS = {"3m": 3 * MONTH_DAYS, "6m": 6 * MONTH_DAYS, "12m": 12 * MONTH_DAYS}
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def arrays(summary: Summary) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    monetary = [float(m) if m is not None else np.nan for m in summary.monetary]
    return (
        np.asarray(summary.frequency, dtype=float),
        np.asarray(summary.recency, dtype=float),
        np.asarray(summary.age, dtype=float),
        np.asarray(monetary, dtype=float),
    )


def repeaters(summary: Summary) -> tuple[np.ndarray, np.ndarray]:
    """The Gamma-Gamma inputs: repeat customers whose repeat purchases are worth something."""
    frequency, _, _, monetary = arrays(summary)
    keep = (frequency > 0) & (np.nan_to_num(monetary) > 0)
    return frequency[keep], monetary[keep]


def holdout_quality(
    clv_model: Any, days: int, calibration: Summary, start: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Fit on the history before the last `days` days, predict those days, compare; `start`:
    the previous fit's estimate, where the optimizer starts."""
    frequency, recency, age, monetary = arrays(calibration)
    start = start or {}
    purchases = clv_model.fit_purchases(frequency, recency, age, start=start.get("bg_nbd"))
    spend = clv_model.fit_spend(*repeaters(calibration), start=start.get("gamma_gamma"))
    predicted = purchases.expected(float(days))
    value = predicted * spend.expected(frequency, monetary)
    actual = np.asarray(calibration.holdout_purchases, dtype=float)
    actual_value = sum(calibration.holdout_value, Decimal(0))
    return {
        "holdout_days": days,
        "customers": len(calibration),
        "purchases_actual": int(actual.sum()),
        "purchases_predicted": round(float(predicted.sum()), 2),
        "purchases_error": _relative(float(predicted.sum()), float(actual.sum())),
        "purchases_mae": round(float(np.abs(predicted - actual).mean()), 4),
        "value_actual": str(money(actual_value)),
        "value_predicted": str(money(float(value.sum()))),
        "value_error": _relative(float(value.sum()), float(actual_value)),
        "parameters": {"bg_nbd": purchases.parameters, "gamma_gamma": spend.parameters},
    }


def _relative(predicted: float, actual: float) -> float | None:
    return None if actual == 0 else round((predicted - actual) / actual, 4)


def predictions(summary: Summary, purchases: Any, spend: Any) -> list[dict[str, Any]]:
    """One row per customer: inputs, P(alive), expected purchases and value per horizon."""
    frequency, _, _, monetary = arrays(summary)
    alive = purchases.alive()
    per_order = spend.expected(frequency, monetary)
    counts = {h: purchases.expected(days) for h, days in HORIZONS.items()}
    rows = []
    for i, customer_id in enumerate(summary.customer_ids):
        mean = summary.monetary[i]
        row: dict[str, Any] = {
            "customer_id": customer_id,
            "frequency": summary.frequency[i],
            "recency_days": summary.recency[i],
            "age_days": summary.age[i],
            "monetary_value": None if mean is None else money(mean),
            "probability_alive": float(alive[i]),
            "expected_order_value": money(float(per_order[i])),
        }
        for h, values in counts.items():
            row[f"purchases_{h}"] = float(values[i])
            row[f"value_{h}"] = money(float(values[i] * per_order[i]))
        rows.append(row)
    return rows


def distribution(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals and quantiles of the predictions: what a merchant's CLV overview shows."""
    value = np.asarray([float(r["value_12m"]) for r in rows])
    alive = np.asarray([r["probability_alive"] for r in rows])
    return {
        "customers": len(rows),
        "value": {h: str(sum((r[f"value_{h}"] for r in rows), Decimal(0))) for h in HORIZONS},
        "purchases": {h: round(sum(r[f"purchases_{h}"] for r in rows), 2) for h in HORIZONS},
        "value_12m_quantiles": {
            str(q): str(money(float(np.quantile(value, q)))) for q in QUANTILES
        },
        "probability_alive": {
            "mean": round(float(alive.mean()), 4),
            "at_least_0.8": int((alive >= 0.8).sum()),
            "0.5_to_0.8": int(((alive >= 0.5) & (alive < 0.8)).sum()),
            "below_0.5": int((alive < 0.5).sum()),
        },
    }
