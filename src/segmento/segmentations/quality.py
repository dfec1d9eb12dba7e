"""Is a segmentation usable? Homogeneity, separation, stability, predictive power, warnings.

- Homogeneity (the source documents' écart-type criterion): for each segment and feature,
  the standard deviation inside the segment over the standard deviation in the whole base.
  Below 1 the segment is tighter than the base; near 1 it is as mixed as the base.
  Heavy-tailed features (non-negative, skewness above 1: spend, counts) are measured on a
  log scale, else a handful of very big spenders set the spread of the whole top segment.
- Separation per segment and feature: |segment mean - mean of the other customers| over
  the base's standard deviation (on the same scale as homogeneity); overall, the
  silhouette of the model's own space (scaled features for k-means, scores for
  RFM, log value for tiers) on a sample.
- Stability: refit on bootstrap resamples of the sample and compare the assignments with
  the adjusted Rand index (1 = identical partitions, 0 = chance).
- Predictive power: the share of next-period spend variance the segments explain
  (eta squared, between-segment over total sum of squares), spend read from the orders
  of the ``horizon_days`` after the as-of date.
Heavy aggregates run in the engine; silhouette and bootstrap use an in-memory sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score, silhouette_score

from segmento.segmentations.api import as_date, sample_frame
from segmento.segmentations.assign import with_segments
from segmento.segmentations.base import as_float
from segmento.segmentations.clustering import KMeansSegmenter
from segmento.segmentations.kmeans_space import heavy_tailed, signed_log_expr
from segmento.segmentations.registry import FrozenModel


@dataclass
class QualityReport:
    """How good a segmentation is, with plain-language warnings."""

    segmentation: str
    version: int
    as_of: date
    sizes: pd.DataFrame  # segment_id, label, size, share
    homogeneity: pd.DataFrame  # segment x feature: within-segment std / overall std
    homogeneity_scale: dict[str, str]  # feature -> 'log' or 'raw', the scale the spread is measured on
    separation: pd.DataFrame  # segment x feature: |segment mean - others' mean| / overall std, same scale
    silhouette: float | None
    stability: float | None  # mean adjusted Rand index over bootstrap refits
    stability_runs: list[float] = field(default_factory=list)
    predictive_power: float | None = None  # eta squared of next-period spend
    horizon_days: int = 90
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segmentation": self.segmentation,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "sizes": self.sizes.to_dict("records"),
            "homogeneity": self.homogeneity.round(4).replace({np.nan: None}).reset_index().to_dict("records"),
            "homogeneity_scale": self.homogeneity_scale,
            "separation": self.separation.round(4).replace({np.nan: None}).reset_index().to_dict("records"),
            "silhouette": self.silhouette,
            "stability": self.stability,
            "stability_runs": self.stability_runs,
            "predictive_power": self.predictive_power,
            "horizon_days": self.horizon_days,
            "warnings": self.warnings,
        }

    def __str__(self) -> str:
        def fmt(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        lines = [
            f"{self.segmentation} v{self.version} as of {self.as_of}: {len(self.sizes)} segments",
            f"  separation (silhouette) {fmt(self.silhouette)}, stability (bootstrap ARI) {fmt(self.stability)}, "
            f"predictive power (next {self.horizon_days} days spend, eta2) {fmt(self.predictive_power)}",
            *(f"  warning: {w}" for w in self.warnings),
        ]
        labels = dict(zip(self.sizes.segment_id, self.sizes.label))
        for title, table in (("homogeneity (std inside / std of the base; below 1 = tighter)", self.homogeneity),
                             ("separation (|mean - others' mean| / std of the base; higher = more distinct)",
                              self.separation)):
            lines.append(f"  {title}:")
            shown = table.rename(index=labels).round(2)
            lines += ["    " + line for line in shown.to_string(na_rep="-").splitlines()]
        return "\n".join(lines)

    def per_feature(self) -> pd.DataFrame:
        """Long form: one row per segment and feature with its homogeneity and separation."""
        long = self.homogeneity.stack(future_stack=True).rename("homogeneity").to_frame()
        long["separation"] = self.separation.stack(future_stack=True)
        long = long.reset_index().rename(columns={"level_1": "feature"})
        long.columns = ["segment_id", "feature", "homogeneity", "separation"]
        long["scale"] = long.feature.map(self.homogeneity_scale)
        return long


def quality(
    con: BaseBackend,
    model: FrozenModel,
    features: ibis.Table,
    as_of: date | str | None = None,
    *,
    horizon_days: int = 90,
    outcome: ibis.Table | None = None,
    sample: int = 10_000,
    bootstraps: int = 5,
    min_share: float = 0.02,
    max_segments: int = 12,
    max_std_ratio: float = 0.8,
    seed: int = 0,
) -> QualityReport:
    """Judge ``model`` on ``features`` (as of ``as_of``, the model's fit date by default).

    ``outcome`` (customer_id, value) replaces next-period spend from the orders table.
    """
    as_of = as_date(as_of) if as_of is not None else model.as_of
    checked = model.estimator.homogeneity_features()
    frame = sample_frame(features, model.features, sample, seed)
    scale = {c: "log" if heavy_tailed(as_float(frame, c)) else "raw" for c in checked}
    labelled = with_segments(model, features)
    measured = {c: signed_log_expr(labelled[c].cast("float64")) if scale[c] == "log" else labelled[c] for c in checked}
    with labelled.select("customer_id", "segment_id", **measured).cache() as cached:
        sizes, homogeneity, separation = _sizes_and_spread(cached, model, checked)
        power, power_note = _predictive_power(con, cached, as_of, horizon_days, outcome)
    silhouette, runs = _separation_and_stability(model, frame, bootstraps, seed)
    warnings = _warnings(sizes, homogeneity, silhouette, runs, min_share, max_segments, max_std_ratio)
    if power_note:
        warnings.append(power_note)
    return QualityReport(
        segmentation=model.name,
        version=model.version,
        as_of=as_of,
        sizes=sizes,
        homogeneity=homogeneity,
        homogeneity_scale=scale,
        separation=separation,
        silhouette=silhouette,
        stability=float(np.mean(runs)) if runs else None,
        stability_runs=runs,
        predictive_power=power,
        horizon_days=horizon_days,
        warnings=warnings,
    )


def _sizes_and_spread(
    t: ibis.Table, model: FrozenModel, checked: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    def spread(table: ibis.Table) -> dict[str, ibis.Value]:
        return {"n": table.count(), **{c: table[c].cast("float64").std(how="pop") for c in checked},
                **{f"{c}__sum": table[c].cast("float64").sum() for c in checked},
                **{f"{c}__n": table[c].count() for c in checked}}

    by_segment = t.group_by("segment_id").aggregate(**spread(t)).to_pandas().set_index("segment_id")
    overall = t.aggregate(**spread(t)).to_pandas().iloc[0]
    ids = [s.id for s in model.segments]
    counts = by_segment.n.reindex(ids).fillna(0).astype(int)
    total = int(overall.n)
    sizes = pd.DataFrame(
        {"segment_id": ids, "label": [s.label for s in model.segments], "size": counts.to_numpy(),
         "share": counts.to_numpy() / total if total else 0.0}
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = by_segment[checked].reindex(ids).astype("float64") / overall[checked].astype("float64").replace(0, np.nan)
        separation = pd.DataFrame(index=ids, columns=checked, dtype="float64")
        for c in checked:  # |segment mean - mean of the others| / overall std (a standardised effect size)
            seg_sum = by_segment[f"{c}__sum"].reindex(ids).astype("float64")
            seg_n = by_segment[f"{c}__n"].reindex(ids).astype("float64")
            others = (overall[f"{c}__sum"] - seg_sum) / (overall[f"{c}__n"] - seg_n).replace(0, np.nan)
            std = overall[c] if overall[c] else np.nan
            separation[c] = ((seg_sum / seg_n.replace(0, np.nan)) - others).abs() / std
    ratios.index.name = separation.index.name = "segment_id"
    return sizes, ratios, separation


def _predictive_power(
    con: BaseBackend, t: ibis.Table, as_of: date, horizon_days: int, outcome: ibis.Table | None
) -> tuple[float | None, str | None]:
    note = None
    if outcome is None:
        orders = con.table("orders")
        start = datetime.combine(as_of + timedelta(days=1), time())
        end = start + timedelta(days=horizon_days)
        last = orders.ordered_at.max().execute()
        if last is None or pd.Timestamp(last) < pd.Timestamp(start):
            return None, f"predictive power not measured: no orders after {as_of} yet"
        if pd.Timestamp(last) < pd.Timestamp(end) - pd.Timedelta(days=1):
            note = f"predictive power measured on a partial next period (orders up to {pd.Timestamp(last).date()})"
        window = orders.filter((orders.ordered_at >= start) & (orders.ordered_at < end))
        outcome = window.group_by("customer_id").aggregate(value=window.amount.sum())
    joined = t.select("customer_id", "segment_id").left_join(outcome.select("customer_id", "value"), "customer_id")
    value = joined.value.cast("float64").fill_null(0.0)
    sums = joined.group_by("segment_id").aggregate(n=joined.count(), s=value.sum(), ss=(value * value).sum()).to_pandas()
    n, s, ss = sums.n.sum(), sums.s.sum(), sums.ss.sum()
    total = ss - s * s / n
    if total <= 0:
        return None, note or "predictive power not measured: next-period spend does not vary"
    within = float((sums.ss - sums.s**2 / sums.n).sum())
    return float(1 - within / total), note


def _separation_and_stability(
    model: FrozenModel, frame: pd.DataFrame, bootstraps: int, seed: int
) -> tuple[float | None, list[float]]:
    estimator = model.estimator
    labels = estimator.predict(frame)
    silhouette = None
    if 2 <= len(set(labels)) < len(frame):
        silhouette = float(silhouette_score(estimator.space(frame), labels, sample_size=min(5_000, len(frame)),
                                            random_state=seed))
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(bootstraps):
        resample = frame.iloc[rng.integers(0, len(frame), len(frame))]
        again = clone(estimator)
        if isinstance(estimator, KMeansSegmenter):
            again.set_params(k=estimator.k_)
        try:
            again.fit(resample)
        except ValueError:  # a resample can make a quantile tier collapse: that is instability too
            runs.append(0.0)
            continue
        runs.append(float(adjusted_rand_score(labels, again.predict(frame))))
    return silhouette, runs


def _warnings(
    sizes: pd.DataFrame,
    homogeneity: pd.DataFrame,
    silhouette: float | None,
    runs: list[float],
    min_share: float,
    max_segments: int,
    max_std_ratio: float,
) -> list[str]:
    out = []
    if len(sizes) > max_segments:
        out.append(f"{len(sizes)} segments: more than {max_segments} are hard to use in campaigns")
    for row in sizes.itertuples():
        if row.size == 0:
            out.append(f"segment {row.segment_id} ({row.label}) is empty")
        elif row.share < min_share:
            out.append(f"segment {row.segment_id} ({row.label}) holds {row.share:.1%} of customers (< {min_share:.0%})")
    for segment, ratios in homogeneity.iterrows():
        mean = ratios.mean()
        if not np.isnan(mean) and mean > max_std_ratio:
            worst = ratios.sort_values(ascending=False).index[:3]
            out.append(
                f"segment {segment} is heterogeneous: its spread is {mean:.0%} of the whole base's on average "
                f"(most spread: {', '.join(worst)})"
            )
    if silhouette is not None and silhouette < 0.1:
        out.append(f"segments overlap (silhouette {silhouette:.2f})")
    if runs and float(np.mean(runs)) < 0.6:
        out.append(f"segments are unstable: bootstrap refits agree only {np.mean(runs):.2f} (adjusted Rand index)")
    return out
