"""Segmentations: partitions of the customer base (RFM map, value tiers, k-means).

Fit on a sample, freeze and version the model in the knowledge base, assign the whole
base in the engine, describe segments (portraits) and judge them (quality).

    model = fit(con, definition, as_of)            # a new frozen version
    model = load_model(con, "rfm")                 # the latest version
    table = assign(con, model, features)           # customer_id, segmentation, version,
                                                   # segment_id, segment_label, segment_rank
"""

from segmento.segmentations.api import fit, refit, segments
from segmento.segmentations.assign import assign
from segmento.segmentations.base import Segment
from segmento.segmentations.portraits import Portrait, portraits, portraits_frame
from segmento.segmentations.quality import QualityReport, quality
from segmento.segmentations.registry import FrozenModel, load_model, versions

__all__ = [
    "FrozenModel",
    "Portrait",
    "QualityReport",
    "Segment",
    "assign",
    "fit",
    "load_model",
    "portraits",
    "portraits_frame",
    "quality",
    "refit",
    "segments",
    "versions",
]
