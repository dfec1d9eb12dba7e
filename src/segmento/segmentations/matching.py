"""Matching a refitted model to the previous version, so segment ids keep their meaning.

Clusters: the new centres are carried into the previous version's scaled space (undo the
new scaling and log, apply the old ones) and paired with the old centres by the Hungarian
algorithm (minimum total distance). A pair's ``relative`` distance is its distance over the
distance from the old centre to its nearest other old centre: below 0.5 the new cluster is
clearly the old one; above, the pair is reported ``weak``. New clusters left over get new
ids; old ids left over are retired, never reused.

Every kind also reports ``agreement``: the share of the fit sample that the old and the
new version put in the same segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from segmento.segmentations.base import Segmenter
from segmento.segmentations.clustering import KMeansSegmenter

WEAK = 0.5


def hungarian(old: np.ndarray, new: np.ndarray) -> list[tuple[int, int]]:
    """(old index, new index) pairs with the least total Euclidean distance."""
    rows, cols = linear_sum_assignment(cdist(old, new))
    return sorted(zip(rows.tolist(), cols.tolist()))


def raw_centers(model: KMeansSegmenter) -> list[dict[str, float]]:
    """Centres back in feature units: numeric values and categorical level shares."""
    out = []
    weights = np.asarray(model.weights_)
    for center in np.asarray(model.centers_):
        unweighted = center / weights
        point: dict[str, float] = {}
        for j, name in enumerate(model.numeric):
            y = unweighted[j] * model.scale_[name] + model.center_[name]
            point[name] = float(np.sign(y) * np.expm1(abs(y))) if model.transforms_[name] == "log" else float(y)
        for column, value in zip(model.columns_[len(model.numeric):], unweighted[len(model.numeric):]):
            point[column] = float(value)
        out.append(point)
    return out


def in_space_of(model: KMeansSegmenter, points: list[dict[str, float]]) -> np.ndarray:
    """Raw centres scaled the way ``model`` scales customers (absent features sit at its centre)."""
    rows = []
    for point in points:
        row = []
        for name in model.numeric:
            value = point.get(name)
            if value is None:
                row.append(0.0)
                continue
            y = np.sign(value) * np.log1p(abs(value)) if model.transforms_[name] == "log" else value
            row.append((y - model.center_[name]) / model.scale_[name])
        row.extend(point.get(column, 0.0) for column in model.columns_[len(model.numeric):])
        rows.append(row)
    return np.asarray(rows) * np.asarray(model.weights_)


def match_clusters(old: KMeansSegmenter, new: KMeansSegmenter) -> dict[str, Any]:
    """Give ``new``'s clusters the ids of the old clusters they match; report the pairs."""
    old_centers = np.asarray(old.centers_)
    new_centers = in_space_of(old, raw_centers(new))
    gaps = cdist(old_centers, old_centers)
    np.fill_diagonal(gaps, np.inf)
    nearest_other = gaps.min(axis=1) if len(old_centers) > 1 else np.ones(1)
    pairs = []
    ids: list[str | None] = [None] * len(new_centers)
    for i, j in hungarian(old_centers, new_centers):
        distance = float(np.linalg.norm(old_centers[i] - new_centers[j]))
        relative = float(distance / nearest_other[i]) if nearest_other[i] else 0.0
        ids[j] = old.cluster_ids_[i]
        pairs.append({"id": old.cluster_ids_[i], "new_cluster": j, "distance": distance,
                      "relative": relative, "weak": bool(relative >= WEAK)})
    next_number = old.max_id_  # retired ids are never reused
    added = []
    for j, sid in enumerate(ids):
        if sid is None:
            next_number += 1
            ids[j] = f"c{next_number}"
            added.append(ids[j])
    new.set_ids([str(i) for i in ids])
    new.max_id_ = max(new.max_id_, old.max_id_)
    matched = {p["id"] for p in pairs}
    return {
        "pairs": pairs,
        "added": added,
        "retired": [sid for sid in old.cluster_ids_ if sid not in matched],
        "weak": [p["id"] for p in pairs if p["weak"]],
    }


def match_versions(old: Segmenter, new: Segmenter, sample: pd.DataFrame) -> dict[str, Any]:
    """Match ids where they are learned (clusters), then measure agreement on the sample."""
    report: dict[str, Any] = {}
    if isinstance(old, KMeansSegmenter) and isinstance(new, KMeansSegmenter):
        report = match_clusters(old, new)
    report["agreement"] = float(np.mean(old.predict(sample) == new.predict(sample))) if len(sample) else None
    return report
