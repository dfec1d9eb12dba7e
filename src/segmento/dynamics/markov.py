"""Markov view of a segmentation: average transition matrix, forecast, stationary mix,
and expected customer value per segment (Pfeifer & Carraway 2000: V = sum_t (P/(1+d))^t R).

The closed forecast m_k = m_0 P^k only ages today's customers; ``forecast_with_inflow``
adds the new customers arriving each period (the window's average), which is what the
mix a marketer will see is made of. Intervals and the backtest live in forecast.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from segmento.config import Project
from segmento.dynamics.freshness import incomplete_periods
from segmento.dynamics.store import EXIT, NEW, period_of, require_snapshots
from segmento.features import compute_features
from segmento.dynamics.transitions import transition_matrix
from segmento.errors import NotReadyError


@dataclass
class MarkovModel:
    """Row-stochastic matrix over the segments (plus an absorbing ``(exit)`` state when seen)."""

    states: list[str]
    P: np.ndarray
    revenue_per_period: np.ndarray  # mean next-period revenue of a customer in each state
    current_mix: np.ndarray  # share of customers per state at the last period
    periods: list[date]
    counts: np.ndarray | None = None  # pooled transition counts behind P (rows: states), for intervals
    inflow: np.ndarray | None = None  # mean new customers per period entering each state
    current_counts: np.ndarray | None = None  # customers per state at the last period

    def forecast(self, steps: int) -> pd.DataFrame:
        """Segment mix for 0..steps periods ahead: m_k = m_0 P^k."""
        mixes = [self.current_mix]
        for _ in range(steps):
            mixes.append(mixes[-1] @ self.P)
        return pd.DataFrame(mixes, columns=self.states).rename_axis("periods_ahead")

    def forecast_with_inflow(self, steps: int, P: np.ndarray | None = None) -> pd.DataFrame:
        """Segment mix of the customers present, 0..steps periods ahead, new customers arriving as on
        average over the window: n_{k+1} = n_k P + inflow, mix = n over the present customers."""
        P = self.P if P is None else P
        live = [i for i, s in enumerate(self.states) if s != EXIT]
        counts = self.current_counts if self.current_counts is not None else self.current_mix
        inflow = self.inflow if self.inflow is not None else np.zeros(len(self.states))
        rows = [counts]
        for _ in range(steps):
            rows.append(rows[-1] @ P + inflow)
        mixes = [row[live] / row[live].sum() for row in rows]
        return pd.DataFrame(mixes, columns=[self.states[i] for i in live]).rename_axis("periods_ahead")

    def stationary(self) -> pd.Series:
        """The long-run mix: the left eigenvector of P for eigenvalue 1, normalised."""
        values, vectors = np.linalg.eig(self.P.T)
        vector = np.real(vectors[:, np.argmin(np.abs(values - 1.0))])
        return pd.Series(vector / vector.sum(), index=self.states)

    def expected_value(self, horizon: int, discount_rate: float) -> pd.Series:
        """Expected discounted revenue of a customer now in each state, over ``horizon`` periods."""
        step = self.P / (1.0 + discount_rate)
        total, power = np.zeros_like(self.revenue_per_period), np.eye(len(self.states))
        for _ in range(horizon):
            power = power @ step
            total = total + power @ self.revenue_per_period
        return pd.Series(total, index=self.states)


def fit_markov(con: BaseBackend, segmentation: str, window: int = 12, until: date | None = None) -> MarkovModel:
    """Average the transitions of the last ``window`` consecutive period pairs (pooled counts),
    up to ``until`` (default: the latest period), with the mean inflow of new customers.
    Periods flagged with incomplete feature windows are left out."""
    flagged = incomplete_periods(con, segmentation)  # their moves are artefacts of windows filling in
    periods = [p for p in require_snapshots(con, segmentation, 2)
               if (until is None or p <= until) and p not in flagged][-(window + 1):]
    if len(periods) < 2:
        raise NotReadyError(f"the Markov view of {segmentation!r} needs two complete snapshots at least "
                            f"(up to {until or 'the latest period'}); found {len(periods)}")
    counts: pd.DataFrame | None = None
    revenue: pd.DataFrame | None = None
    for before, after in zip(periods, periods[1:]):
        matrix = transition_matrix(con, segmentation, before, after)
        counts = matrix.counts if counts is None else counts.add(matrix.counts, fill_value=0)
        revenue = matrix.revenue if revenue is None else revenue.add(matrix.revenue, fill_value=0)
    arrivals = counts.loc[NEW] if NEW in counts.index else pd.Series(dtype=float)
    counts = counts.drop(index=NEW, errors="ignore")
    revenue = revenue.drop(index=NEW, errors="ignore")
    segments = [c for c in counts.columns if c != EXIT]
    states = segments + ([EXIT] if counts.get(EXIT, pd.Series(dtype=float)).sum() > 0 else [])
    square = counts.reindex(index=states, columns=states, fill_value=0).to_numpy(dtype=float)
    if EXIT in states:
        square[states.index(EXIT), states.index(EXIT)] = 1.0  # exit is absorbing
    sums = square.sum(axis=1, keepdims=True)
    P = np.divide(square, sums, out=np.eye(len(states)), where=sums > 0)
    leaving = counts.reindex(index=states, fill_value=0).sum(axis=1).to_numpy(dtype=float)
    earned = revenue.reindex(index=states, fill_value=0).sum(axis=1).to_numpy(dtype=float)
    per_period = np.divide(earned, leaving, out=np.zeros(len(states)), where=leaving > 0)
    last = transition_matrix(con, segmentation, periods[-2], periods[-1]).counts.sum(axis=0)
    mix = last.reindex(states, fill_value=0).to_numpy(dtype=float)
    if EXIT in states:
        mix[states.index(EXIT)] = 0.0
    inflow = arrivals.reindex(states, fill_value=0).to_numpy(dtype=float) / (len(periods) - 1)
    if EXIT in states:
        inflow[states.index(EXIT)] = 0.0
    return MarkovModel(states, P, per_period, mix / mix.sum(), periods, square, inflow, mix)


def segment_value(con: BaseBackend, segmentation: str, period: date, project: Project | None = None) -> pd.DataFrame:
    """Per segment at a snapshot period: customers, mean p_alive and clv_12m, total clv_12m (best segment first).

    The customer-level view of value (predictive traits, BG/NBD or Pareto/NBD with
    Gamma-Gamma) beside the Markov view's segment-level expected value. Customers
    without orders count with a value of 0.
    """
    members = period_of(con, segmentation, period)
    traits = compute_features(con, period, project, names=["p_alive", "clv_12m"])
    joined = members.left_join(traits, "customer_id")
    clv = joined.clv_12m.fill_null(0.0)
    grouped = joined.group_by(["segment_rank", "segment_id", "segment_label"]).aggregate(
        customers=joined.count(), p_alive=joined.p_alive.mean(), clv_12m=clv.mean(), total_clv_12m=clv.sum()
    )
    return grouped.order_by("segment_rank").to_pandas()
