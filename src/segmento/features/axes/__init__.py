"""Built-in features, one module per axis of the source documents."""

from __future__ import annotations

from segmento.features.axes import channel, contact, interests, product, profile, promo, purchase, social
from segmento.features.model import Feature, Windows

AXES = (profile, purchase, product, contact, promo, social, channel, interests)


def builtin_features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    """Every built-in feature, axis by axis; ``categories=None`` lists share_cat_* as one family."""
    return [feature for axis in AXES for feature in axis.features(windows, categories)]
