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
- Assignment is a nearest-centroid expression (``centroids.nearest_centroid``), so the same
  frozen centres assign the whole base in DuckDB or Spark.

The space (fills, transforms, scaling, one-hot) is ``kmeans_space.py``, the choice of k
``choose_k.py``, the engine expression ``centroids.py``; this module fits, ranks and labels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from segmento.errors import NotReadyError
from segmento.segmentations.base import Segment, Segmenter, as_float
from segmento.segmentations.centroids import active_expr, nearest_centroid
from segmento.segmentations.choose_k import choose_k
from segmento.segmentations.kmeans_space import KMeansSpace
from segmento.segmentations.labels import phrases, unique_labels

INACTIVE = "inactive"
INACTIVE_LABELS = {"en": "Inactive", "fr": "Inactifs"}


class KMeansSegmenter(KMeansSpace, Segmenter):
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
            raise NotReadyError("fewer than 2 active customers in the fit sample: nothing to cluster")
        self.fit_space(active)
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

    def _choose_k(self, Z: np.ndarray) -> tuple[int, list[dict[str, Any]]]:
        if self.k != "auto":
            return int(self.k), []
        return choose_k(Z, self.k_min, self.k_max, self.min_segment_share, self.seed)

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

    def expr(self, t: ibis.Table) -> ibis.Table:
        inputs, offsets, factors = self.engine_inputs(t)
        prepared = t.mutate(_seg_active=active_expr(t, self.active), **inputs)
        nearest = nearest_centroid(prepared, list(inputs), self.centers_, self.cluster_ids_, offsets, factors)
        segment_id = ibis.ifelse(nearest._seg_active, nearest.segment_id, INACTIVE)
        return nearest.mutate(segment_id=segment_id).drop("_seg_active", *inputs)


