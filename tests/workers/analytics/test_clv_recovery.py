"""The CLV models recover the parameters of data simulated from known ones.

Customers are drawn with numpy from the models' own stories (tests/support/clv_scenario.py),
independently of the library; the fit is cartwheel's (workers/analytics/clv_model.py). The
tolerance, documented in docs/metrics.md ("Predictive CLV"), is 15% relative per parameter
with 6,000 customers: at that size the estimators' sampling spread is a few percent, so a fit
outside it means a wrong model or wrong inputs, not bad luck (the seeds are fixed).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.clv_scenario import Truth, draw, inputs
from workers.analytics import clv_model

TOLERANCE = 0.15
CUSTOMERS = 6000
TRUTHS = [
    Truth(r=0.8, alpha=40.0, a=0.8, b=2.5, p=6.0, q=4.0, v=30.0),
    Truth(r=1.5, alpha=60.0, a=1.2, b=4.0, p=3.0, q=8.0, v=150.0),
]


def relative(found: dict[str, float], truth: Truth, names: tuple[str, ...]) -> dict[str, float]:
    return {n: abs(found[n] - getattr(truth, n)) / getattr(truth, n) for n in names}


@pytest.mark.parametrize("truth", TRUTHS, ids=["low-rate", "high-rate"])
def test_fits_recover_the_parameters_the_customers_were_drawn_from(truth: Truth) -> None:
    histories = draw(np.random.default_rng(11), CUSTOMERS, truth, (60.0, 730.0))
    x, t_x, age, mean = inputs(histories)

    purchases = clv_model.fit_purchases(x, t_x, age)
    errors = relative(purchases.parameters, truth, clv_model.BGNBD_PARAMETERS)
    assert all(e < TOLERANCE for e in errors.values()), (purchases.parameters, errors)

    repeat = x > 0
    spend = clv_model.fit_spend(x[repeat], mean[repeat])
    errors = relative(spend.parameters, truth, clv_model.GAMMA_GAMMA_PARAMETERS)
    assert all(e < TOLERANCE for e in errors.values()), (spend.parameters, errors)
