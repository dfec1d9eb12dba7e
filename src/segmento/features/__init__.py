"""Features as of a date: one row per customer, point-in-time correct, by axis.

    from segmento.features import compute_features, catalog
    table = compute_features(con, date(2024, 6, 30))        # lazy Ibis table
    [f.name for f in catalog()]                             # what exists

A date D means the end of that day (see asof.py). Users add features in
segmento.yaml (``features.custom``) or with the ``@feature`` decorator.
"""

from segmento.features.asof import AsOf, Window
from segmento.features.catalog import catalog, categories_at, find
from segmento.features.compute import compute_features
from segmento.features.custom import FeatureError, feature, unregister
from segmento.features.model import Feature
from segmento.features.sources import PointInTime

__all__ = [
    "AsOf",
    "Feature",
    "FeatureError",
    "PointInTime",
    "Window",
    "catalog",
    "categories_at",
    "compute_features",
    "feature",
    "find",
    "unregister",
]
