"""Features as of a date: one row per customer, point-in-time correct, by axis.

    from segmento.features import compute_features, catalog
    table = compute_features(con, date(2024, 6, 30))        # lazy Ibis table
    [f.name for f in catalog()]                             # what exists

A date D means the end of that day (see asof.py). Users add features in
segmento.yaml (``features.custom``) or with the ``@feature`` decorator.

Importing this package stays light (the project file's feature settings live here): each
name below loads its module, with Ibis, on first use.
"""

from __future__ import annotations

from segmento.lazy import loader

_HOME = {
    "AsOf": "asof", "Window": "asof", "catalog": "known", "categories_at": "known", "find": "known",
    "compute_features": "compute", "FeatureError": "custom", "feature": "custom", "unregister": "custom",
    "Feature": "model", "PointInTime": "sources",
}  # fmt: skip

__all__ = sorted(_HOME)
__getattr__ = loader(__name__, _HOME)
