"""How far to trust the Markov forecast: intervals and a backtest.

Intervals: each row of the transition matrix is drawn from its Dirichlet posterior over
the observed transition counts (Jeffreys prior, counts + 1/2), the forecast with inflow is
run for every draw, and the ``level`` central interval of each segment's share is kept.
A row seen a thousand times barely moves; a row seen five times moves a lot.

Backtest: fit on the periods up to ``horizon`` periods before the last one, forecast
``horizon`` periods from there, and compare with the mix that was actually observed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from segmento.dynamics.markov import MarkovModel, fit_markov
from segmento.dynamics.store import EXIT, period_of, taken_periods
from segmento.errors import NotReadyError

PRIOR = 0.5


def forecast_interval(model: MarkovModel, steps: int, level: float = 0.9, draws: int = 400, seed: int = 0) -> pd.DataFrame:
    """periods_ahead, state, low, median, high: the forecast mix (with inflow) under Dirichlet draws of P."""
    if model.counts is None:
        raise ValueError("this Markov model carries no transition counts to draw from")
    rng = np.random.default_rng(seed)
    exit_row = model.states.index(EXIT) if EXIT in model.states else None
    seen = model.counts.sum(axis=1) > 0
    runs = []
    for _ in range(draws):
        P = model.P.copy()
        for i in np.flatnonzero(seen):
            if i != exit_row:
                P[i] = rng.dirichlet(model.counts[i] + PRIOR)
        runs.append(model.forecast_with_inflow(steps, P).to_numpy())
    stacked = np.stack(runs)  # draw x step x state
    tail = (1 - level) / 2
    low, median, high = (np.quantile(stacked, q, axis=0) for q in (tail, 0.5, 1 - tail))
    states = [s for s in model.states if s != EXIT]
    return pd.DataFrame([
        {"periods_ahead": k, "state": state, "low": low[k, j], "median": median[k, j], "high": high[k, j]}
        for k in range(steps + 1) for j, state in enumerate(states)
    ])


@dataclass
class Backtest:
    """A forecast made ``horizon`` periods back, against what happened."""

    segmentation: str
    origin: date
    target: date
    table: pd.DataFrame  # state: forecast, low, high, closed (no inflow), actual, error (forecast - actual)
    mean_absolute_error: float  # in share points (0.01 = one percentage point)
    closed_mean_absolute_error: float

    def __str__(self) -> str:
        shown = (self.table * 100).round(1).to_string()
        return (f"backtest of {self.segmentation}: forecast from {self.origin} for {self.target} vs what happened "
                f"(% of customers)\n{shown}\n  mean absolute error {self.mean_absolute_error * 100:.1f} points "
                f"with new-customer inflow, {self.closed_mean_absolute_error * 100:.1f} without")


def backtest(con: BaseBackend, segmentation: str, horizon: int = 6, window: int = 12, level: float = 0.9) -> Backtest:
    """Fit on the periods up to ``horizon`` before the last, forecast ``horizon`` periods, compare."""
    periods = taken_periods(con, segmentation)
    if len(periods) < horizon + 2:
        raise NotReadyError(f"a {horizon}-period backtest of {segmentation!r} needs {horizon + 2} snapshots; "
                            f"{len(periods)} taken. Run `segmento backfill` over more months.")
    origin, target = periods[-1 - horizon], periods[-1]
    model = fit_markov(con, segmentation, window, until=origin)
    forecast = model.forecast_with_inflow(horizon).iloc[horizon]
    bands = forecast_interval(model, horizon, level).query("periods_ahead == @horizon").set_index("state")
    live = [s for s in model.states if s != EXIT]
    closed = model.forecast(horizon).iloc[horizon][live]
    closed = closed / closed.sum()
    rows = period_of(con, segmentation, target).group_by("segment_id").agg(n=lambda t: t.count()).to_pandas()
    actual = rows.set_index("segment_id").n.reindex(live, fill_value=0) / rows.n.sum()
    table = pd.DataFrame({"forecast": forecast, "low": bands.low, "high": bands.high, "closed": closed,
                          "actual": actual}).rename_axis("segment")
    table["error"] = table.forecast - table.actual
    return Backtest(segmentation, origin, target, table, float(table.error.abs().mean()),
                    float((table.closed - table.actual).abs().mean()))
