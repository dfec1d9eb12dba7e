"""Matching a refitted model to the previous version, so segment ids keep their meaning.

Clusters: the new centres are carried into the previous version's scaled space (undo the
new scaling and log, apply the old ones) and paired with the old centres by the Hungarian
algorithm (minimum total distance). A pair's ``relative`` distance is its distance over the
distance from the old centre to its nearest other old centre: below 0.5 the new cluster is
clearly the old one; above, the pair is reported ``weak``. New clusters left over get new
ids; old ids left over are retired, never reused.

A pair keeps the old id only when the two clusters share at least ``min_agreement`` of
their members on the fit sample (Jaccard, 0.5 by default, set per segmentation): a weak
match gets a new id instead of silently changing what an id means.

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
MIN_AGREEMENT = 0.5  # a refitted cluster keeps an old id only when this share of members agree


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


def pair_agreement(old_labels: np.ndarray, new_labels: np.ndarray, old_id: str, new_id: str) -> float:
    """Jaccard agreement of two clusters on a sample: shared members over members of either."""
    a, b = old_labels == old_id, new_labels == new_id
    either = int((a | b).sum())
    return float((a & b).sum() / either) if either else 0.0


def match_clusters(
    old: KMeansSegmenter, new: KMeansSegmenter, sample: pd.DataFrame | None = None, min_agreement: float = MIN_AGREEMENT
) -> dict[str, Any]:
    """Give ``new``'s clusters the ids of the old clusters they match; report the pairs.

    With a ``sample``, a paired cluster keeps the old id only when the two clusters agree
    on at least ``min_agreement`` of their members (Jaccard); otherwise it gets a new id
    and the old id is retired, so an id never silently changes meaning.
    """
    old_centers = np.asarray(old.centers_)
    new_centers = in_space_of(old, raw_centers(new))
    gaps = cdist(old_centers, old_centers)
    np.fill_diagonal(gaps, np.inf)
    nearest_other = gaps.min(axis=1) if len(old_centers) > 1 else np.ones(1)
    old_labels = new_labels = None
    if sample is not None and len(sample):
        old_labels = old.predict(sample)
        new.set_ids([f"new{j}" for j in range(len(new_centers))])
        new_labels = new.predict(sample)
    pairs = []
    ids: list[str | None] = [None] * len(new_centers)
    for i, j in hungarian(old_centers, new_centers):
        distance = float(np.linalg.norm(old_centers[i] - new_centers[j]))
        relative = float(distance / nearest_other[i]) if nearest_other[i] else 0.0
        agreement = None if old_labels is None else pair_agreement(old_labels, new_labels, old.cluster_ids_[i], f"new{j}")
        kept = agreement is None or agreement >= min_agreement
        if kept:
            ids[j] = old.cluster_ids_[i]
        pairs.append({"id": old.cluster_ids_[i], "new_cluster": j, "distance": distance, "relative": relative,
                      "agreement": agreement, "kept": kept, "weak": bool(relative >= WEAK or not kept)})
    next_number = old.max_id_  # retired ids are never reused
    added = []
    for j, sid in enumerate(ids):
        if sid is None:
            next_number += 1
            ids[j] = f"c{next_number}"
            added.append(ids[j])
    new.set_ids([str(i) for i in ids])
    new.max_id_ = max(new.max_id_, old.max_id_, next_number)
    for pair in pairs:
        pair["new_id"] = ids[pair["new_cluster"]]
    kept_ids = {p["id"] for p in pairs if p["kept"]}
    return {
        "pairs": pairs,
        "added": added,
        "retired": [sid for sid in old.cluster_ids_ if sid not in kept_ids],
        "weak": [p["id"] for p in pairs if p["weak"]],
        "min_agreement": min_agreement,
    }


def match_versions(
    old: Segmenter, new: Segmenter, sample: pd.DataFrame, min_agreement: float = MIN_AGREEMENT
) -> dict[str, Any]:
    """Match ids where they are learned (clusters), then measure agreement on the sample."""
    report: dict[str, Any] = {}
    if isinstance(old, KMeansSegmenter) and isinstance(new, KMeansSegmenter):
        report = match_clusters(old, new, sample, min_agreement)
    report["agreement"] = float(np.mean(old.predict(sample) == new.predict(sample))) if len(sample) else None
    return report


def match_lines(match: dict[str, Any]) -> list[str]:
    """The match table for people: old id -> new id with the agreement, then new and retired ids."""
    overall = match.get("agreement")
    head = f"matched to version {match.get('previous_version')}"
    if overall is not None:
        head += f": {overall:.0%} of the fit sample in the same segment"
    lines = [head]
    for pair in match.get("pairs", []):
        agreement = "" if pair.get("agreement") is None else f"  agreement {pair['agreement']:.2f}"
        verdict = "kept" if pair.get("kept", True) else f"below {match.get('min_agreement', MIN_AGREEMENT):.2f}: new id"
        lines.append(f"  {pair['id']} -> {pair.get('new_id', pair['id'])}{agreement} ({verdict})")
    if match.get("pairs") is not None:
        lines.append(f"  new: {', '.join(match.get('added', [])) or 'none'}; "
                     f"retired: {', '.join(match.get('retired', [])) or 'none'}")
    return lines
