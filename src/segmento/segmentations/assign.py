"""Assignment pushed down to the engine: every customer of a features table gets exactly
one segment of a frozen model, computed by DuckDB or Spark over the whole base.

Nothing comes back to Python: the result is a lazy Ibis table to count, join, snapshot
or write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis

from segmento.errors import SegmentoError
from segmento.segmentations.base import label_expr, rank_expr

if TYPE_CHECKING:
    from segmento.segmentations.registry import FrozenModel

COLUMNS = ("customer_id", "segmentation", "version", "segment_id", "segment_label", "segment_rank")


def with_segments(model: FrozenModel, features: ibis.Table) -> ibis.Table:
    """``features`` plus the ``segment_id`` of ``model`` (for portraits and quality)."""
    missing = [c for c in ("customer_id", *model.features) if c not in features.columns]
    if missing:
        raise SegmentoError(
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
