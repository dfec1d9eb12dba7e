"""Markov forecast with new-customer inflow, Dirichlet intervals and a backtest, on a chain
simulated with a known matrix and a known inflow; checked against numpy and pandas."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from dynamics_support import plant_snapshots

import segmento
from segmento.dynamics.forecast import backtest, forecast_interval
from segmento.dynamics.markov import fit_markov
from segmento.dynamics.periods import period_ends

STATES = ["top", "mid", "low"]
TRUE_P = np.array([[0.85, 0.12, 0.03], [0.05, 0.80, 0.15], [0.01, 0.09, 0.90]])
ARRIVALS = np.array([5, 20, 75])  # new customers per period, per state: they arrive in "low" mostly
PERIODS = period_ends("2023-01", "2024-02")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    rng = np.random.default_rng(3)
    state = rng.choice(3, size=1500, p=[0.2, 0.3, 0.5])
    ids = [f"C{i}" for i in range(len(state))]
    rows = []
    for index, period in enumerate(PERIODS):
        if index:
            state = np.array([rng.choice(3, p=TRUE_P[s]) for s in state])
            arrivals = np.repeat(np.arange(3), ARRIVALS)
            ids += [f"C{len(ids) + i}" for i in range(len(arrivals))]
            state = np.concatenate([state, arrivals])
        rows += [(period, "value", 1, c, STATES[s], STATES[s], s + 1, 0.0) for c, s in zip(ids, state)]
    snaps = pd.DataFrame(rows, columns=["period", "segmentation", "version", "customer_id", "segment_id",
                                        "segment_label", "segment_rank", "value"])
    ws = segmento.connect(tmp_path_factory.mktemp("forecast") / "shop.duckdb")
    plant_snapshots(ws.con, snaps)
    yield ws, snaps
    ws.close()


def mix_at(snaps: pd.DataFrame, period: date) -> pd.Series:
    return snaps[snaps.period == period].segment_id.value_counts(normalize=True).reindex(STATES, fill_value=0.0)


def test_inflow_is_the_mean_arrivals_and_the_forecast_adds_them(chain):
    ws, snaps = chain
    model = fit_markov(ws.con, "value", window=6)
    used = model.periods
    new = [len(set(snaps[snaps.period == b].customer_id) - set(snaps[snaps.period == a].customer_id))
           for a, b in zip(used, used[1:])]
    assert model.states == STATES and np.allclose(model.inflow, ARRIVALS) and sum(new) / len(new) == ARRIVALS.sum()
    counts = snaps[snaps.period == used[-1]].segment_id.value_counts().reindex(STATES).to_numpy(float)
    n = counts
    for _ in range(4):  # the oracle: n_{k+1} = n_k P + inflow
        n = n @ model.P + ARRIVALS
    assert np.allclose(model.forecast_with_inflow(4).iloc[4].to_numpy(), n / n.sum())
    closed = model.forecast(4).iloc[4].to_numpy()
    assert closed[2] < (n / n.sum())[2], "without inflow the forecast forgets the newcomers who arrive in 'low'"


def test_dirichlet_intervals_hold_the_forecast_and_narrow_with_more_history(chain):
    ws, _ = chain
    long = forecast_interval(fit_markov(ws.con, "value", window=12), steps=6, draws=300)
    short = forecast_interval(fit_markov(ws.con, "value", window=1), steps=6, draws=300)
    point = fit_markov(ws.con, "value", window=12).forecast_with_inflow(6)
    at6 = long[long.periods_ahead == 6].set_index("state")
    assert ((at6.low <= point.iloc[6]) & (point.iloc[6] <= at6.high)).all()
    assert (long[long.periods_ahead == 0].high - long[long.periods_ahead == 0].low).abs().max() < 1e-12
    width = lambda frame: (frame[frame.periods_ahead == 6].high - frame[frame.periods_ahead == 6].low).mean()  # noqa: E731
    assert width(long) < width(short)


def test_backtest_compares_the_forecast_from_six_periods_back_with_what_happened(chain):
    ws, snaps = chain
    result = backtest(ws.con, "value", horizon=6, window=6)
    assert result.origin == PERIODS[-7] and result.target == PERIODS[-1]
    actual = mix_at(snaps, PERIODS[-1])
    assert np.allclose(result.table.actual.reindex(STATES), actual)
    model = fit_markov(ws.con, "value", window=6, until=PERIODS[-7])
    assert np.allclose(result.table.forecast.reindex(STATES), model.forecast_with_inflow(6).iloc[6].reindex(STATES))
    assert result.mean_absolute_error == pytest.approx((result.table.forecast - actual).abs().mean())
    assert result.mean_absolute_error < result.closed_mean_absolute_error  # the inflow is what the closed chain misses
    assert result.mean_absolute_error < 0.03
    assert "mean absolute error" in str(result)
