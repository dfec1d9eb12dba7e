"""k-means segmentation on chosen features: fitted on a sample, assigned in the engine.

Why these choices:
- Transforms: spend and counts have heavy tails; ``log`` (signed log1p) keeps a few big
  spenders from owning a cluster each. ``auto`` logs a non-negative feature whose sample
  skewness is above 1. Robust scaling (median / IQR, falling back to the standard
  deviation when most values tie) puts features on one footing without letting outliers
  set the scale.
- Missing values take a fitted fill (the sample median unless ``fill`` says otherwise);
  customers with NULL or 0 in the ``active`` feature (e.g. orders_lifetime) are put in an
  ``inactive`` segment instead of being forced into a cluster.
- Categorical features are one-hot encoded (the most frequent levels, then ``(other)``
  and ``(missing)``), each dummy weighted sqrt(1/2) so two customers differing in one
  categorical feature are one scaled unit apart, like one IQR on a numeric feature.
- scikit-learn KMeans (Lloyd, k-means++, ``n_init`` restarts). ``k: auto`` tries k_min..k_max
  on a subsample and keeps the best mean rank of silhouette (on a sample), Calinski-Harabasz
  and Davies-Bouldin among the k whose smallest segment holds at least ``min_segment_share``.
- Assignment is a nearest-centroid expression (``assign.nearest_centroid``), so the same
  frozen centres assign the whole base in DuckDB or Spark.
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from segmento.segmentations.assign import nearest_centroid
from segmento.segmentations.base import Segment, Segmenter, as_float
from segmento.segmentations.labels import phrases, unique_labels

INACTIVE = "inactive"
INACTIVE_LABELS = {"en": "Inactive", "fr": "Inactifs"}
OTHER, MISSING = "(other)", "(missing)"
MAX_LEVELS = 8
DUMMY_WEIGHT = float(np.sqrt(0.5))
SELECTION_ROWS = 50_000  # rows used to compare candidate k
SILHOUETTE_ROWS = 5_000


def heavy_tailed(values: np.ndarray) -> bool:
    """Non-negative with a long right tail (skewness above 1): spend, counts, days."""
    values = values[~np.isnan(values)]
    return bool(len(values) and values.min() >= 0 and values.std() > 0 and pd.Series(values).skew() > 1)


def signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log(np.abs(values) + 1.0)


def signed_log_expr(value: ibis.NumericValue) -> ibis.NumericValue:
    return (value.abs() + 1.0).ln() * value.sign()


class KMeansSegmenter(Segmenter):
    """k-means with frozen transforms, scaling, fills and centres."""

    kind: ClassVar[str] = "kmeans"

    def __init__(
        self,
        features: list[str] | None = None,
        categorical: list[str] | None = None,
        transforms: dict[str, str] | None = None,
        scaling: str = "robust",
        weights: dict[str, float] | None = None,
        fill: dict[str, float] | None = None,
        k: int | str = "auto",
        k_min: int = 3,
        k_max: int = 10,
        min_segment_share: float = 0.02,
        active: str | None = None,
        rank_by: str | None = None,
        n_init: int = 4,
        seed: int = 0,
        language: str = "en",
        labels: dict[str, str] | None = None,
    ) -> None:
        self.features = features
        self.categorical = categorical
        self.transforms = transforms
        self.scaling = scaling
        self.weights = weights
        self.fill = fill
        self.k = k
        self.k_min = k_min
        self.k_max = k_max
        self.min_segment_share = min_segment_share
        self.active = active
        self.rank_by = rank_by
        self.n_init = n_init
        self.seed = seed
        self.language = language
        self.labels = labels

    # ---- inputs -----------------------------------------------------------------------
    @property
    def numeric(self) -> list[str]:
        return [f for f in self.features or [] if f not in (self.categorical or [])]

    def _rank_column(self) -> tuple[str, int]:
        """(feature, +1 when higher is better / -1 when lower is: '-recency_days')."""
        spec = self.rank_by or (self.features or [""])[0]
        return (spec[1:], -1) if spec.startswith("-") else (spec, 1)

    def inputs(self) -> list[str]:
        extra = [c for c in (self.active, self._rank_column()[0]) if c and c not in (self.features or [])]
        return [*(self.features or []), *extra]

    def homogeneity_features(self) -> list[str]:
        return self.numeric

    def _active_mask(self, X: pd.DataFrame) -> np.ndarray:
        if not self.active:
            return np.ones(len(X), dtype=bool)
        values = as_float(X, self.active)
        return ~np.isnan(values) & (values != 0)

    # ---- fit ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame) -> KMeansSegmenter:
        active = X[self._active_mask(X)]
        if len(active) < 2:
            raise ValueError("fewer than 2 active customers in the fit sample: nothing to cluster")
        self._fit_transform(active)
        Z = self.transform(active)
        self.k_, self.selection_ = self._choose_k(Z)
        self.kmeans_ = KMeans(self.k_, n_init=self.n_init, random_state=self.seed).fit(Z)
        self.centers_ = self.kmeans_.cluster_centers_.tolist()
        self.inertia_ = float(self.kmeans_.inertia_)
        clusters = self.kmeans_.labels_
        ranking = self._ranking(active, clusters)
        self.cluster_ids_ = [""] * self.k_
        for position, cluster in enumerate(ranking, start=1):
            self.cluster_ids_[cluster] = f"c{position}"
        self.max_id_ = self.k_
        self.cluster_ranks_ = [int(np.where(ranking == c)[0][0]) + 1 for c in range(self.k_)]
        self.generated_labels_ = self._generated_labels(active, clusters)
        self._build_segments()
        return self

    def _fit_transform(self, X: pd.DataFrame) -> None:
        """Learn fills, transforms, centre/scale of numeric features and levels of categorical ones."""
        transforms, weights, fill = self.transforms or {}, self.weights or {}, self.fill or {}
        self.fill_, self.transforms_, self.center_, self.scale_ = {}, {}, {}, {}
        for name in self.numeric:
            raw = as_float(X, name)
            known = raw[~np.isnan(raw)]
            self.fill_[name] = float(fill.get(name, np.median(known) if len(known) else 0.0))
            values = np.where(np.isnan(raw), self.fill_[name], raw)
            choice = transforms.get(name, "auto")
            if choice == "auto":
                choice = "log" if heavy_tailed(values) else "none"
            self.transforms_[name] = choice
            values = signed_log(values) if choice == "log" else values
            self.center_[name], self.scale_[name] = _centre_scale(values, self.scaling)
        self.levels_ = {}
        for name in self.categorical or []:
            text = _categories(X[name])
            top = text[text != MISSING].value_counts().index[:MAX_LEVELS].tolist()
            rest = [level for level in (OTHER, MISSING) if (level == MISSING and (text == MISSING).any())
                    or (level == OTHER and (~text.isin([*top, MISSING])).any())]
            self.levels_[name] = [*top, *rest]
        self.columns_ = [*self.numeric, *(f"{n}={level}" for n in self.levels_ for level in self.levels_[n])]
        self.weights_ = [float(weights.get(n, 1.0)) for n in self.numeric] + [
            float(weights.get(n, 1.0)) * DUMMY_WEIGHT for n in self.levels_ for _ in self.levels_[n]
        ]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The scaled matrix k-means works in (numpy twin of ``z_columns``)."""
        columns = []
        for name in self.numeric:
            raw = as_float(X, name)
            values = np.where(np.isnan(raw), self.fill_[name], raw)
            values = signed_log(values) if self.transforms_[name] == "log" else values
            columns.append((values - self.center_[name]) / self.scale_[name])
        for name, levels in self.levels_.items():
            text = _categories(X[name], levels).to_numpy()
            columns.extend((text == level).astype("float64") for level in levels)
        return np.column_stack(columns) * np.asarray(self.weights_) if columns else np.empty((len(X), 0))

    def _choose_k(self, Z: np.ndarray) -> tuple[int, list[dict[str, Any]]]:
        if self.k != "auto":
            return int(self.k), []
        rng = np.random.default_rng(self.seed)
        rows = Z[rng.permutation(len(Z))[:SELECTION_ROWS]]
        table = []
        for k in range(self.k_min, min(self.k_max, len(rows) - 1) + 1):
            labels = KMeans(k, n_init=1, random_state=self.seed).fit_predict(rows)
            shares = np.bincount(labels, minlength=k) / len(labels)
            table.append({
                "k": k,
                "silhouette": float(silhouette_score(rows, labels, sample_size=min(SILHOUETTE_ROWS, len(rows)),
                                                     random_state=self.seed)),
                "calinski_harabasz": float(calinski_harabasz_score(rows, labels)),
                "davies_bouldin": float(davies_bouldin_score(rows, labels)),
                "min_share": float(shares.min()),
            })
        frame = pd.DataFrame(table)
        frame["eligible"] = frame.min_share >= self.min_segment_share
        pool = frame[frame.eligible] if frame.eligible.any() else frame
        ranks = (pool.silhouette.rank(ascending=False) + pool.calinski_harabasz.rank(ascending=False)
                 + pool.davies_bouldin.rank(ascending=True))
        best = pool.assign(mean_rank=ranks / 3).sort_values(["mean_rank", "silhouette"], ascending=[True, False])
        chosen = int(best.k.iloc[0])
        frame["chosen"] = frame.k == chosen
        return chosen, frame.to_dict("records")

    def _ranking(self, X: pd.DataFrame, clusters: np.ndarray) -> np.ndarray:
        """Cluster indices, best first, by the mean of ``rank_by``."""
        column, direction = self._rank_column()
        values = np.nan_to_num(as_float(X, column), nan=0.0)
        means = np.array([values[clusters == c].mean() if (clusters == c).any() else -np.inf * direction
                          for c in range(self.k_)])
        return np.argsort(-direction * means, kind="stable")

    def _generated_labels(self, X: pd.DataFrame, clusters: np.ndarray) -> list[str]:
        numeric = X.select_dtypes(include=["number", "bool"]).astype("float64")
        base_mean, base_std = numeric.mean(), numeric.std(ddof=0)
        found = [phrases(numeric[clusters == c].mean().to_dict(), base_mean.to_dict(), base_std.to_dict())
                 for c in range(self.k_)]
        return unique_labels(found)

    def set_ids(self, ids: list[str]) -> None:
        """Give clusters the ids matched to a previous version (see ``matching``)."""
        self.cluster_ids_ = list(ids)
        self.max_id_ = max([0, *(int(i[1:]) for i in ids if i[1:].isdigit())])
        self._build_segments()

    def _build_segments(self) -> None:
        labels = self.labels or {}
        segments = [
            Segment(sid, labels.get(sid, self.generated_labels_[c]), self.cluster_ranks_[c])
            for c, sid in enumerate(self.cluster_ids_)
        ]
        if self.active:
            segments.append(Segment(INACTIVE, labels.get(INACTIVE, INACTIVE_LABELS.get(self.language, "Inactive")),
                                    self.k_ + 1))
        self.segments_ = sorted(segments, key=lambda s: s.rank)

    # ---- assign ------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        Z = self.transform(X)
        centers = np.asarray(self.centers_)
        distances = np.column_stack([((Z - c) ** 2).sum(axis=1) for c in centers])
        out = np.asarray(self.cluster_ids_, dtype=object)[distances.argmin(axis=1)]
        out[~self._active_mask(X)] = INACTIVE
        return out

    def space(self, X: pd.DataFrame) -> np.ndarray:
        return self.transform(X)

    def engine_inputs(self, t: ibis.Table) -> tuple[dict[str, ibis.NumericValue], list[float], list[float]]:
        """Transformed features before scaling, as engine expressions, with the offsets and
        factors that scale them: z = (y - offset) * factor (Ibis twin of ``transform``)."""
        inputs: dict[str, ibis.NumericValue] = {}
        offsets: list[float] = []
        factors: list[float] = []
        weights = iter(self.weights_)
        for name in self.numeric:
            value = t[name].cast("float64").fill_null(self.fill_[name])
            inputs[f"_seg_y{len(inputs)}"] = signed_log_expr(value) if self.transforms_[name] == "log" else value
            offsets.append(self.center_[name])
            factors.append(next(weights) / self.scale_[name])
        for name, levels in self.levels_.items():
            text = t[name].cast("string")
            known = [level for level in levels if level not in (OTHER, MISSING)]
            category = ibis.cases((text.isnull(), MISSING), (text.isin(known), text), else_=ibis.literal(OTHER)) \
                if known else ibis.ifelse(text.isnull(), MISSING, OTHER)
            for level in levels:
                inputs[f"_seg_y{len(inputs)}"] = ibis.ifelse(category == level, 1.0, 0.0)
                offsets.append(0.0)
                factors.append(next(weights))
        return inputs, offsets, factors

    def z_columns(self, t: ibis.Table) -> dict[str, ibis.NumericValue]:
        """The scaled features k-means works in, as engine expressions."""
        inputs, offsets, factors = self.engine_inputs(t)
        return {f"_seg_z{i}": (y - o) * f for i, (y, o, f) in enumerate(zip(inputs.values(), offsets, factors))}

    def expr(self, t: ibis.Table) -> ibis.Table:
        inputs, offsets, factors = self.engine_inputs(t)
        prepared = t.mutate(_seg_active=_active_expr(t, self.active), **inputs)
        nearest = nearest_centroid(prepared, list(inputs), self.centers_, self.cluster_ids_, offsets, factors)
        segment_id = ibis.ifelse(nearest._seg_active, nearest.segment_id, INACTIVE)
        return nearest.mutate(segment_id=segment_id).drop("_seg_active", *inputs)


def _active_expr(t: ibis.Table, active: str | None) -> ibis.BooleanValue:
    if not active:
        return ibis.literal(True)
    value = t[active].cast("float64")
    return (value.notnull() & (value != 0)).fill_null(False)


def _categories(column: pd.Series, levels: list[str] | None = None) -> pd.Series:
    """Text of a categorical feature: (missing) for NULL, (other) outside the known levels."""
    text = column.astype("object").where(column.notna(), MISSING).astype(str)
    if levels is not None:
        known = [level for level in levels if level not in (OTHER, MISSING)]
        text = text.where(text.isin([*known, MISSING]), OTHER)
    return text


def _centre_scale(values: np.ndarray, scaling: str) -> tuple[float, float]:
    if scaling == "none":
        return 0.0, 1.0
    if scaling == "standard":
        return float(values.mean()), float(values.std()) or 1.0
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return float(median), float(q75 - q25) or float(values.std()) or 1.0
