"""The uplift statistics against formulas written here (stdlib NormalDist), a bootstrap loop
written here, and their coverage over simulated experiments with a known true effect."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.campaigns.stats import NOT_SIGNIFICANT, TOO_FEW, mean_difference, two_proportions

Z = NormalDist().inv_cdf(0.975)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5000), st.integers(1, 5000), st.data())
def test_two_proportions_match_the_wald_and_katz_formulas(n1: int, n0: int, data: st.DataObject):
    x1, x0 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n0))
    found = two_proportions(x1, n1, x0, n0)
    p1, p0 = x1 / n1, x0 / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert math.isclose(found.difference, p1 - p0, abs_tol=1e-12)
    assert math.isclose(found.difference_low, p1 - p0 - Z * se, abs_tol=1e-9)
    assert math.isclose(found.difference_high, p1 - p0 + Z * se, abs_tol=1e-9)
    if x1 and x0:
        se_log = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
        assert math.isclose(found.ratio_low, p1 / p0 / math.exp(Z * se_log), rel_tol=1e-9)
        assert math.isclose(found.ratio_high, p1 / p0 * math.exp(Z * se_log), rel_tol=1e-9)
    else:
        assert found.ratio is None
    assert found.significant == (found.difference_low > 0 or found.difference_high < 0)


def test_intervals_cover_a_known_effect_about_95_times_in_100():
    rng = np.random.default_rng(3)
    covered_rate = covered_revenue = 0
    runs = 300
    for _ in range(runs):
        treated, control = rng.random(800) < 0.25, rng.random(400) < 0.2
        rate = two_proportions(int(treated.sum()), 800, int(control.sum()), 400)
        covered_rate += rate.difference_low <= 0.05 <= rate.difference_high
        spend_t = treated * rng.exponential(40.0, 800)  # true mean 0.25 * 40 = 10
        spend_c = control * rng.exponential(40.0, 400)  # 0.2 * 40 = 8
        revenue = mean_difference(spend_t, spend_c, resamples=400, seed=int(rng.integers(1 << 30)))
        covered_revenue += revenue.difference_low <= 2.0 <= revenue.difference_high
    assert 0.91 <= covered_rate / runs <= 0.98
    assert 0.90 <= covered_revenue / runs <= 0.98


def test_bootstrap_matches_a_plain_resampling_loop():
    rng = np.random.default_rng(5)
    a = rng.exponential(30, 600) * (rng.random(600) < 0.3)
    b = rng.exponential(30, 300) * (rng.random(300) < 0.2)
    found = mean_difference(a, b, resamples=4000)
    loop = np.random.default_rng(11)
    diffs = [loop.choice(a, len(a)).mean() - loop.choice(b, len(b)).mean() for _ in range(4000)]
    ratios = [loop.choice(a, len(a)).mean() / loop.choice(b, len(b)).mean() for _ in range(4000)]
    width = np.percentile(diffs, 97.5) - np.percentile(diffs, 2.5)
    assert abs(found.difference_low - np.percentile(diffs, 2.5)) < 0.06 * width
    assert abs(found.difference_high - np.percentile(diffs, 97.5)) < 0.06 * width
    assert found.ratio == a.mean() / b.mean()
    assert abs(found.ratio_low - np.percentile(ratios, 2.5)) < 0.06 * (np.percentile(ratios, 97.5) - np.percentile(ratios, 2.5))


def test_plain_verdicts():
    assert two_proportions(50, 1000, 48, 1000).verdict == NOT_SIGNIFICANT
    assert two_proportions(150, 1000, 50, 1000).verdict == "significant uplift"
    assert two_proportions(50, 1000, 150, 1000).verdict == "significant fall"
    assert two_proportions(5, 10, 0, 0).verdict == TOO_FEW
    assert mean_difference(np.array([1.0, 2.0]), np.array([3.0])).verdict == TOO_FEW
