"""Predictive traits: fit BG/NBD + Gamma-Gamma and score every customer, against lifetimes on the same summary.

A synthetic BTYD summary is drawn from a BG/NBD process (and Gamma-Gamma spend) with
known parameters, in days, as the features stage computes it. Segmento groups it by
distinct triple in DuckDB, fits on the groups, scores the groups and joins back in the
engine (scores are kept per triple for later dates); lifetimes fits BetaGeoFitter and GammaGammaFitter
on every customer and scores
every customer (the documented use), and once more with its ``weights`` on the same
distinct triples. Scale 1.0 = 1M customers.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.predictive.api import fit_summary
from segmento.predictive.registry import store_model
from segmento.predictive.scoring import score_summary
from segmento.predictive.settings import PredictiveSettings

TRUE = {"r": 0.25, "alpha": 4.0 * 7, "a": 0.8, "b": 2.5}  # alpha in days (4 weeks)
SPEND = {"p": 6.0, "q": 4.0, "v": 15.0}


def bgnbd_summary(customers: int, seed: int = 0) -> pd.DataFrame:
    """frequency, recency, T (whole days) and mean repeat spend of customers following BG/NBD + Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    drop = rng.beta(TRUE["a"], TRUE["b"], customers)
    age = rng.integers(30, 731, customers).astype(float)
    x, last, now = np.zeros(customers), np.zeros(customers), np.zeros(customers)
    active = np.arange(customers)
    while active.size:
        now[active] += rng.exponential(1 / rate[active])
        bought = active[now[active] <= age[active]]
        x[bought] += 1
        last[bought] = now[bought]
        active = bought[rng.random(bought.size) >= drop[bought]]  # after each purchase, drop out with p
    recency = np.floor(last)
    x = np.where(recency > 0, x, 0)  # a repeat purchase on the first day is the same purchase day
    scale = rng.gamma(SPEND["q"], 1 / SPEND["v"], customers)
    mean = rng.gamma(SPEND["p"] * np.maximum(x, 1), 1 / (scale * np.maximum(x, 1)))
    return pd.DataFrame({
        "customer_id": np.arange(customers).astype(str),
        "btyd_frequency": x, "btyd_recency": np.where(x > 0, recency, 0.0), "btyd_T": age,
        "btyd_monetary_value": np.where(x > 0, np.round(mean, 2), 0.0),
    })  # fmt: skip


def cpu(fn):  # noqa: ANN001, ANN201
    """``fn()`` with its wall and CPU seconds (the machine is shared: CPU time is the steadier figure)."""
    start = time.process_time()
    result, wall = timed(fn)
    return result, wall, time.process_time() - start


def ours(con: ibis.BaseBackend) -> tuple[object, float, float, int]:
    table = con.table("summary")
    settings = PredictiveSettings(unit="week")
    model, fit_seconds, fit_cpu = cpu(lambda: store_model(con, fit_summary(table, date(2024, 12, 31), settings)))
    scored, score_seconds, score_cpu = cpu(lambda: score_summary(con, model, table).to_pyarrow())
    return model, fit_seconds, score_seconds, scored.num_rows, fit_cpu + score_cpu


def lifetimes_run(frame: pd.DataFrame, weighted: bool) -> tuple[object, object, float, float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        week = frame.assign(recency=frame.btyd_recency / 7, T=frame.btyd_T / 7, frequency=frame.btyd_frequency)
        if weighted:
            week = week.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()
        repeat = frame[(frame.btyd_frequency > 0) & (frame.btyd_monetary_value > 0)]

        def fit() -> tuple[object, object]:
            bg = BetaGeoFitter().fit(week.frequency, week.recency, week["T"],
                                     weights=week.n if weighted else None)  # fmt: skip
            return bg, GammaGammaFitter().fit(repeat.btyd_frequency, repeat.btyd_monetary_value)

        (bg, gg), fit_seconds, fit_cpu = cpu(fit)
        if weighted:
            return bg, gg, fit_seconds, 0.0, fit_cpu
        x, t_x, T, m = week.frequency, week.recency, week["T"], frame.btyd_monetary_value

        def score() -> None:
            bg.conditional_probability_alive(x, t_x, T)
            for days in (90, 365):
                bg.conditional_expected_number_of_purchases_up_to_time(days / 7, x, t_x, T)
            gg.conditional_expected_average_profit(x, m)
            gg.customer_lifetime_value(bg, x, t_x, T, m, time=12, discount_rate=0.01, freq="W")

        _, score_seconds, score_cpu = cpu(score)
        return bg, gg, fit_seconds, score_seconds, fit_cpu + score_cpu


def run(scale: float) -> None:
    customers = max(int(1_000_000 * scale), 2_000)
    with section(f"predictive: BG/NBD + Gamma-Gamma fit and 5 traits for {customers:,} customers "
                 "(synthetic BG/NBD summary)"), tempfile.TemporaryDirectory() as tmp:  # fmt: skip
        frame = bgnbd_summary(customers)
        con = ibis.duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        con.create_table("summary", frame)
        model, fit_seconds, score_seconds, rows, ours_cpu = ours(con)
        ours_peak = peak_rss_mb()
        bg, gg, their_fit, their_score, their_cpu = lifetimes_run(frame, weighted=False)
        _, _, weighted_fit, _, _ = lifetimes_run(frame, weighted=True)
        total, their_total = fit_seconds + score_seconds, their_fit + their_score
        print(f"  {model.fit['distinct_triples']:,} distinct (frequency, recency, T) for {customers:,} customers; "
              f"{model.fit['distinct_spend_pairs']:,} distinct (frequency, spend) pairs")
        line("segmento fit (engine group-by + scipy on triples)", fit_seconds, customers)
        line("segmento score 5 traits (triples + engine join)", score_seconds, rows)
        line("segmento fit + score", total, customers, baseline=their_total)
        line("lifetimes fit (every customer)", their_fit, customers)
        line("lifetimes score (p_alive, 2 horizons, value, CLV)", their_score, customers)
        line("lifetimes fit + score", their_total, customers)
        line("lifetimes fit with weights on the same triples", weighted_fit, customers)
        print(f"  speed-up: {their_total / total:.1f}x (fit {their_fit / fit_seconds:.1f}x, "
              f"score {their_score / score_seconds:.1f}x); CPU time {ours_cpu:.1f} s vs {their_cpu:.1f} s: "
              f"{their_cpu / ours_cpu:.1f}x")
        params = np.array([model.params[k] for k in ("r", "alpha", "a", "b")])
        theirs = bg.params_[["r", "alpha", "a", "b"]].to_numpy()
        spend = np.array(list(model.spend_params.values())) / gg.params_.to_numpy() - 1
        print(f"  max relative parameter difference vs lifetimes: BG/NBD {np.max(np.abs(params / theirs - 1)):.1e}, "
              f"Gamma-Gamma {np.max(np.abs(spend)):.1e}")
        truth = ", ".join(f"{k}={v / (7 if k == 'alpha' else 1):.3g}" for k, v in TRUE.items())
        fitted = ", ".join(f"{k}={v:.3g}" for k, v in model.params.items())
        print(f"  fitted (weeks) {fitted}; true {truth}")
        print(f"  peak RSS after segmento {ours_peak:,.0f} MB, after lifetimes {peak_rss_mb():,.0f} MB", flush=True)
