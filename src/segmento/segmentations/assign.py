"""Assignment pushed down to the engine: every customer of a features table gets exactly
one segment of a frozen model, computed by DuckDB or Spark over the whole base.

Nothing comes back to Python: the result is a lazy Ibis table to count, join, snapshot
or write. Nearest-centroid assignment is one linear score per centre in one projection and
an argmin in the next (first centre wins a tie, as numpy's argmin and scikit-learn do).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import ibis
import numpy as np

from segmento.segmentations.base import label_expr, rank_expr

if TYPE_CHECKING:
    from segmento.segmentations.registry import FrozenModel

COLUMNS = ("customer_id", "segmentation", "version", "segment_id", "segment_label", "segment_rank")


def nearest_centroid(
    t: ibis.Table,
    columns: Sequence[str],
    centers: Sequence[Sequence[float]],
    ids: Sequence[str],
    offsets: Sequence[float] | None = None,
    factors: Sequence[float] | None = None,
) -> ibis.Table:
    """``t`` plus ``segment_id``: the id of the centre nearest to z = (columns - offsets) * factors.

    argmin_k |z - c_k|^2 = argmin_k (|c_k|^2 - 2 z.c_k): with the scaling folded in, each
    centre's score is one linear form of the columns (two operations per feature and centre,
    as scikit-learn's own predict does with a matrix product).
    """
    c = np.asarray(centers, dtype="float64")
    o = np.zeros(c.shape[1]) if offsets is None else np.asarray(offsets, dtype="float64")
    f = np.ones(c.shape[1]) if factors is None else np.asarray(factors, dtype="float64")
    slopes = -2.0 * c * f
    intercepts = (c**2).sum(axis=1) + 2.0 * (c * f * o).sum(axis=1)
    scores = {
        f"_seg_d{i}": sum((t[col] * float(a) for col, a in zip(columns, slopes[i]) if a), ibis.literal(float(intercepts[i])))
        for i in range(len(c))
    }
    with_scores = t.mutate(**scores)
    nearest = with_scores.mutate(_seg_dmin=ibis.least(*(with_scores[d] for d in scores)))
    segment_id = ibis.cases(*((nearest[d] == nearest._seg_dmin, sid) for d, sid in zip(scores, ids)),
                            else_=ibis.literal(ids[0]))
    return nearest.mutate(segment_id=segment_id).drop(*scores, "_seg_dmin")


def with_segments(model: FrozenModel, features: ibis.Table) -> ibis.Table:
    """``features`` plus the ``segment_id`` of ``model`` (for portraits and quality)."""
    missing = [c for c in ("customer_id", *model.features) if c not in features.columns]
    if missing:
        raise ValueError(
            f"segmentation {model.name!r} v{model.version} needs features {', '.join(missing)}; "
            f"the features table has {', '.join(features.columns)}"
        )
    return model.estimator.expr(features)


def assign(con: object, model: FrozenModel, features: ibis.Table) -> ibis.Table:
    """One row per customer of ``features``: (customer_id, segmentation, version, segment_id,
    segment_label, segment_rank). Lazy and pushed down; never a NULL segment.

    ``con`` is the knowledge base the features live in (kept for a uniform stage API).
    """
    labelled = with_segments(model, features)
    segments = model.segments
    return labelled.select(
        "customer_id",
        segmentation=ibis.literal(model.name),
        version=ibis.literal(model.version, type="int64"),
        segment_id=labelled.segment_id,
        segment_label=label_expr(labelled.segment_id, segments),
        segment_rank=rank_expr(labelled.segment_id, segments),
    )
