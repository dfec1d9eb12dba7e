"""Nearest-centroid assignment as an Ibis expression, so frozen k-means centres assign the
whole base in DuckDB or Spark: one linear score per centre in one projection and an argmin
in the next (the first centre wins a tie, as numpy's argmin and scikit-learn do).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np


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


def active_expr(t: ibis.Table, active: str | None) -> ibis.BooleanValue:
    """True where ``active`` is set and not 0 (everyone when no feature is named)."""
    if not active:
        return ibis.literal(True)
    value = t[active].cast("float64")
    return (value.notnull() & (value != 0)).fill_null(False)
