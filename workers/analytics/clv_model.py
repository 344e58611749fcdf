"""BG/NBD and Gamma-Gamma, fitted and applied with pymc-marketing (PyMC Labs).

The estimators are the library's (`pymc_marketing.clv.BetaGeoModel`, `GammaGammaModel`), fitted
by maximum a posteriori: for Gamma-Gamma with flat priors, which makes it the maximum likelihood
estimate (Fader, Hardie & Lee 2005; Hardie & Fader's note, 2013), for BG/NBD (Fader, Hardie &
Lee 2005) with wide half-normal priors (`BGNBD_PRIORS`). Maximum a posteriori takes seconds for
100k customers where sampling would take minutes, and the API reports point predictions.

Importing the library costs seconds (PyMC, PyTensor, ArviZ), so only the fit imports this
module; the first fit of a process also compiles the model's C code into PyTensor's cache
(`PYTENSOR_FLAGS=compiledir=...`, by default under ~/.pytensor), which later fits reuse.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
from pymc_extras.prior import Prior
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

LIBRARY = f"pymc-marketing {version('pymc-marketing')}"
BGNBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")


class NotConverged(ValueError):
    """The optimizer ended on parameters the model cannot use (not finite, out of range)."""


@dataclass(frozen=True)
class Purchases:
    """A fitted BG/NBD model and the customers it was fitted to."""

    model: BetaGeoModel
    parameters: dict[str, float]

    def expected(self, days: float) -> np.ndarray:
        """Expected purchases of each customer in the next `days` days."""
        values = self.model.expected_purchases(future_t=days).values.ravel()
        return _checked(values, "expected purchases")

    def alive(self) -> np.ndarray:
        """Each customer's probability of still being a customer."""
        return _checked(self.model.expected_probability_alive().values.ravel(), "P(alive)")


@contextmanager
def _quiet() -> Iterator[None]:
    # The libraries warn about their own coming API changes and about float overflow while
    # the optimizer probes far-off points; neither says anything about this fit's result,
    # which is checked explicitly afterwards.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


# Half-normal priors wide enough that any shop's data, in days, outweighs them: they only
# decide where the likelihood alone has no finite optimum. A shop whose customers never seem to
# leave (purchases as steady as a clock) drives the maximum likelihood estimate of BG/NBD off
# to infinity (r and alpha growing together, a towards 0) and its predictions to NaN; these
# keep it finite, at predictions the data supports. Gamma-Gamma's optimum stays finite even
# without heterogeneity (q and v grow together, their ratio fixed), so its priors are flat.
BGNBD_PRIORS = {
    "r": Prior("HalfNormal", sigma=10),
    "alpha": Prior("HalfNormal", sigma=5000),
    "a": Prior("HalfNormal", sigma=10),
    "b": Prior("HalfNormal", sigma=100),
}


def _flat(names: tuple[str, ...]) -> dict[str, Prior]:
    return {name: Prior("HalfFlat") for name in names}


def _point(model: BetaGeoModel | GammaGammaModel, names: tuple[str, ...]) -> dict[str, float]:
    found = {n: float(np.asarray(model.fit_result[n].values).ravel()[0]) for n in names}
    if not all(np.isfinite(v) and v > 0 for v in found.values()):
        raise NotConverged(f"the fit ended on unusable parameters {found}")
    return found


def _checked(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise NotConverged(f"the fitted model gives {what} that are not finite and positive")
    return values


def _start(start: dict[str, float] | None) -> dict[str, Any]:
    # Where the optimizer starts: a nearby fit's estimate (the holdout's, for the fit on the
    # whole history) takes it to the optimum in a fraction of the iterations.
    return {"start": dict(start)} if start else {}


def fit_purchases(
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
    *,
    start: dict[str, float] | None = None,
) -> Purchases:
    """Fit BG/NBD to (x, t_x, T) in days, one entry per customer."""
    data = pd.DataFrame(
        {
            "customer_id": np.arange(len(frequency)),
            "frequency": np.asarray(frequency, dtype=float),
            "recency": np.asarray(recency, dtype=float),
            "T": np.asarray(age, dtype=float),
        }
    )
    with _quiet():
        model = BetaGeoModel(model_config=dict(BGNBD_PRIORS))
        model.fit(data=data, method="map", progressbar=False, **_start(start))
        return Purchases(model, _point(model, BGNBD_PARAMETERS))


@dataclass(frozen=True)
class Spend:
    """A fitted Gamma-Gamma model."""

    model: GammaGammaModel
    parameters: dict[str, float]

    def expected(self, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """Each customer's expected value per purchase, one-time buyers included (for them,
        with no repeat purchase to weigh, the population mean)."""
        data = pd.DataFrame(
            {
                "customer_id": np.arange(len(frequency)),
                "frequency": np.asarray(frequency, dtype=float),
                # A repeat history refunded to nothing or less weighs in as worth nothing.
                "monetary_value": np.clip(np.nan_to_num(np.asarray(monetary, float)), 0, None),
            }
        )
        with _quiet():
            values = self.model.expected_customer_spend(data).values
        return _checked(np.asarray(values).reshape(-1, len(frequency))[0], "spend")


def fit_spend(
    frequency: np.ndarray, monetary: np.ndarray, *, start: dict[str, float] | None = None
) -> Spend:
    """Fit Gamma-Gamma to repeat customers' purchase counts and mean repeat values (> 0)."""
    data = pd.DataFrame(
        {
            "customer_id": np.arange(len(frequency)),
            "frequency": np.asarray(frequency, dtype=float),
            "monetary_value": np.asarray(monetary, dtype=float),
        }
    )
    with _quiet():
        model = GammaGammaModel(model_config=_flat(GAMMA_GAMMA_PARAMETERS))
        model.fit(data=data, method="map", progressbar=False, **_start(start))
        found = _point(model, GAMMA_GAMMA_PARAMETERS)
    if found["q"] <= 1:
        raise NotConverged(f"the spend model has no finite mean (q = {found['q']:.3g} <= 1)")
    return Spend(model, found)
