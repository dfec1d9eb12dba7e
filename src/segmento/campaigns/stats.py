"""Uplift with confidence intervals: treated minus control, and treated over control.

Rates (reach of an offer, conversion) compare two independent proportions: the
difference gets the Wald interval with unpooled variance, the ratio the log (Katz)
interval. Revenue per customer is heavy-tailed (most customers spend nothing), so its
difference and ratio get percentile bootstrap intervals, resampling each group on its own
(scipy.stats.bootstrap, seeded, so a report reads the same twice). An effect is
significant when its interval for the difference leaves out zero; otherwise it is plainly
"not significant". scipy is imported where used: the CLI's --help does not pay for it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

NOT_SIGNIFICANT = "not significant"
TOO_FEW = "too few customers to tell"


@dataclass(frozen=True)
class Uplift:
    """Treated vs control on one measure: values, difference and ratio with their intervals."""

    treated: float | None
    control: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None
    level: float

    @property
    def significant(self) -> bool:
        low, high = self.difference_low, self.difference_high
        return low is not None and high is not None and (low > 0 or high < 0)

    @property
    def verdict(self) -> str:
        if self.difference_low is None:
            return TOO_FEW
        if not self.significant:
            return NOT_SIGNIFICANT
        return "significant uplift" if self.difference > 0 else "significant fall"


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def two_proportions(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> Uplift:
    """``x1`` of ``n1`` treated against ``x0`` of ``n0`` control customers."""
    if n1 == 0 or n0 == 0:
        p1 = x1 / n1 if n1 else None
        p0 = x0 / n0 if n0 else None
        return Uplift(p1, p0, None, None, None, None, None, None, level)
    p1, p0 = x1 / n1, x0 / n0
    z = _z(level)
    diff = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    ratio = low_r = high_r = None
    if x1 > 0 and x0 > 0:
        ratio = p1 / p0
        se_log = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
        low_r, high_r = ratio * math.exp(-z * se_log), ratio * math.exp(z * se_log)
    return Uplift(p1, p0, diff, diff - z * se, diff + z * se, ratio, low_r, high_r, level)


def mean_difference(treated: np.ndarray, control: np.ndarray, level: float = 0.95, resamples: int = 2000,
                    seed: int = 0) -> Uplift:
    """Mean per customer (e.g. revenue) of two independent groups, with percentile bootstrap intervals."""
    treated, control = np.asarray(treated, float), np.asarray(control, float)
    if len(treated) < 2 or len(control) < 2:
        m1 = float(treated.mean()) if len(treated) else None
        m0 = float(control.mean()) if len(control) else None
        return Uplift(m1, m0, None, None, None, None, None, None, level)
    from scipy.stats import DegenerateDataWarning, bootstrap

    m1, m0 = float(treated.mean()), float(control.mean())

    def difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return x.mean(axis=axis) - y.mean(axis=axis)

    def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return x.mean(axis=axis) / y.mean(axis=axis)

    options = {"confidence_level": level, "n_resamples": resamples, "method": "percentile", "vectorized": True,
               "batch": max(1, 4_000_000 // (len(treated) + len(control)))}
    with warnings.catch_warnings():  # every resample alike (e.g. nobody spent): the interval is that one value
        warnings.simplefilter("ignore", DegenerateDataWarning)
        diff = bootstrap((treated, control), difference, rng=np.random.default_rng(seed), **options)
    low, high = (float(v) for v in diff.confidence_interval)
    ratio_value = low_r = high_r = None
    if m0 > 0:
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():  # a resample may spend nothing
            warnings.simplefilter("ignore", DegenerateDataWarning)
            found = bootstrap((treated, control), ratio, rng=np.random.default_rng(seed + 1), **options)
        ratio_value = m1 / m0
        low_r, high_r = (float(v) if math.isfinite(v) else None for v in found.confidence_interval)
    return Uplift(m1, m0, m1 - m0, low, high, ratio_value, low_r, high_r, level)
