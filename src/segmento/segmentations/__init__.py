"""Segmentations: partitions of the customer base (RFM map, value tiers, k-means).

Fit on a sample, freeze and version the model in the knowledge base, assign the whole
base in the engine, describe segments (portraits) and judge them (quality).

    model = fit(con, definition, as_of)            # a new frozen version
    model = load_model(con, "rfm")                 # the latest version
    table = assign.assign(con, model, features)    # customer_id, segmentation, version,
                                                   # segment_id, segment_label, segment_rank

Importing this package stays light (the project file's settings live here, and every CLI
call reads them): each name below loads its module, and scikit-learn, on first use. The
functions named like their module (``assign``, ``portraits``, ``quality``) are imported from
that module, since the package attribute of that name is the module once it is loaded.
"""

from __future__ import annotations

from segmento.lazy import loader

_HOME = {
    "fit": "api", "refit": "api", "segments": "api", "Segment": "base",
    "Portrait": "portraits", "portraits_frame": "portraits", "QualityReport": "quality",
    "FrozenModel": "registry", "load_model": "registry", "versions": "registry",
}  # fmt: skip

__all__ = sorted(_HOME)
__getattr__ = loader(__name__, _HOME)
