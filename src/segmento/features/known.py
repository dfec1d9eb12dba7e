"""The feature catalog: built-ins by axis, the project's features, Python features (every feature known).

The README, the dashboard and the audience rule language list features from here,
and ``find`` gives the 'did you mean' for a mistyped name.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.axes import builtin_features
from segmento.features.custom import FeatureError, order_derived, python_features, yaml_features
from segmento.features.model import Feature, Windows
from segmento.features.names import did_you_mean
from segmento.features.providers import provided_features
from segmento.features.sources import PointInTime

if TYPE_CHECKING:
    from segmento.config import Project

CATEGORY_FEATURE = re.compile(r"share_cat_[a-z0-9_]+")


def catalog(
    project: Project | None = None, con: BaseBackend | None = None, as_of: date | datetime | None = None
) -> list[Feature]:
    """Every feature with its name, axis, description and unit.

    Without a connection the per-category shares are one entry, ``share_cat_<slug>``;
    with one, there is a ``share_cat_<slug>`` per category bought up to ``as_of``
    (every category in order_lines if ``as_of`` is None).
    """
    return resolve(project, None if con is None else categories_at(con, as_of))


def resolve(project: Project | None, categories: tuple[str, ...] | None) -> list[Feature]:
    """Built-in + project + Python features, checked; derived ones typed. Declaration order."""
    windows = Windows.of(project.features.windows if project else None)
    features = builtin_features(windows, categories) + provided_features()
    seen = {f.name: f for f in features}
    for spec in [*yaml_features(project), *python_features()]:
        if spec.name in seen:
            other = seen[spec.name].defined_at
            raise FeatureError(f"{spec.defined_at}: feature {spec.name!r} is already defined ({other}); rename it")
        seen[spec.name] = spec
        features.append(spec)
    pending = (lambda name: CATEGORY_FEATURE.fullmatch(name) is not None) if categories is None else (lambda n: False)
    typed = {f.name: f for f in order_derived(features, pending)}
    return [typed.get(f.name, f) for f in features]


def categories_at(con: BaseBackend, as_of: date | datetime | None = None) -> tuple[str, ...]:
    """Categories of lines of orders at or before ``as_of`` (all lines if None).

    When no order is later than ``as_of`` (features as of today) every line counts and
    one column scan answers; for a past date, lines are joined to the visible orders.
    """
    lines = con.table("order_lines")
    if as_of is not None:
        at = AsOf.of(as_of)
        latest = con.table("orders").ordered_at.max().to_pyarrow().as_py()
        if latest is not None and latest >= at.end:
            lines = PointInTime(con, at).order_lines
    values = lines.select("category").distinct().to_pyarrow().column("category").to_pylist()
    return tuple(sorted(v for v in values if v is not None))


def find(name: str, features: list[Feature]) -> Feature:
    """A feature by name, or an error with the closest name."""
    for spec in features:
        if spec.name == name:
            return spec
    raise FeatureError(f"unknown feature {name!r}{did_you_mean(name, [f.name for f in features])}")
