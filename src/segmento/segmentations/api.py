"""The segmentation stage's entry points: fit (a new frozen version), refit, segments.

Fitting reads a sample of the features table into memory (the heavy work, assignment,
stays in the engine). The sample is a hash of customer_id and the seed, filtered in the
engine, so the same base and seed always give the same sample on any engine.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend
from pydantic import TypeAdapter

from segmento.errors import SegmentoError
from segmento.segmentations.settings import Segmentation
from segmento.segmentations.assign import assign
from segmento.segmentations.labels import CHANNEL_SHARES, PHRASES
from segmento.segmentations.matching import MIN_AGREEMENT, match_versions
from segmento.segmentations.registry import FrozenModel, build_estimator, load_model, store_model, versions
from segmento.store.asof import AsOf

if TYPE_CHECKING:
    from segmento.config import Project

BUCKETS = 1_000_000


def as_date(value: date | str) -> date:
    """The calendar day of an as-of date (parsed as everywhere else, see store/asof.py)."""
    return AsOf.of(value).day


def resolve(definition: Any, project: Project | None = None) -> Any:
    """A definition from a config entry, a dict, or a name declared in the project."""
    if isinstance(definition, str):
        if project is None:
            raise SegmentoError(f"segmentation {definition!r} given by name needs the project that declares it")
        return project.segmentation(definition)
    if isinstance(definition, dict):
        return TypeAdapter(Segmentation).validate_python(definition)
    return definition


def features_at(con: BaseBackend, as_of: date, project: Project | None, names: list[str] | None) -> ibis.Table:
    """The features table as of ``as_of`` from the features stage."""
    from segmento.features import compute_features

    return compute_features(con, as_of, project=project, names=names)


def sample_frame(features: ibis.Table, columns: list[str], size: int | None, seed: int = 0) -> pd.DataFrame:
    """Up to ``size`` customers (all when None or fewer), chosen by hash in the engine."""
    table = features.select("customer_id", *dict.fromkeys(c for c in columns if c != "customer_id"))
    if size is not None:
        total = int(table.count().execute())
        if total > size:
            keep = int(BUCKETS * size / total * 1.05) + 1
            bucket = (table.customer_id.cast("string") + f"#{seed}").hash()
            table = table.filter(((bucket % BUCKETS) + BUCKETS) % BUCKETS < keep)
    frame = table.to_pandas().sort_values("customer_id", kind="stable").reset_index(drop=True)
    if size is not None and len(frame) > size:
        frame = frame.sample(size, random_state=seed).sort_values("customer_id", kind="stable").reset_index(drop=True)
    return frame


def describing_columns(features: ibis.Table, inputs: list[str]) -> list[str]:
    """Inputs plus the features that help name clusters, where the table has them."""
    wanted = (*PHRASES, *CHANNEL_SHARES)
    extra = [c for c in features.columns
             if (c in wanted or c.startswith(("share_cat_", "consent_"))) and c not in inputs]
    return [*inputs, *extra]


def fit(
    con: BaseBackend,
    definition: Any,
    as_of: date | str,
    *,
    features: ibis.Table | None = None,
    project: Project | None = None,
    store: bool = True,
) -> FrozenModel:
    """Fit ``definition`` on the features as of ``as_of`` and store it as a new version.

    When a previous version exists its segments are matched to the new ones (ids kept
    for clusters; agreement measured for every kind) and reported in ``model.match``.
    """
    as_of = as_date(as_of)
    definition = resolve(definition, project)
    estimator = build_estimator(definition)
    if features is None:  # k-means reads every feature to name its clusters; RFM and tiers only their inputs
        features = features_at(con, as_of, project, None if definition.kind == "kmeans" else estimator.inputs())
    columns = describing_columns(features, estimator.inputs()) if definition.kind == "kmeans" else estimator.inputs()
    missing = [c for c in estimator.inputs() if c not in features.columns]
    if missing:
        raise SegmentoError(f"segmentation {definition.name!r} needs features {', '.join(missing)}, not in the features table")
    sample = sample_frame(features, columns, definition.sample, definition.seed)
    estimator.fit(sample)
    previous = load_model(con, definition.name) if store and versions(con, definition.name) else None
    match = None
    if previous is not None and previous.kind == estimator.kind:
        threshold = getattr(definition, "min_agreement", MIN_AGREEMENT)
        match = {"previous_version": previous.version,
                 **match_versions(previous.estimator, estimator, sample, threshold)}
    model = FrozenModel(
        name=definition.name,
        version=0,
        as_of=as_of,
        definition=definition.model_dump(mode="json"),
        estimator=estimator,
        fit_rows=len(sample),
        previous_version=previous.version if previous else None,
        match=match,
    )
    return store_model(con, model) if store else model


def refit(
    con: BaseBackend,
    name: str,
    as_of: date | str,
    *,
    features: ibis.Table | None = None,
    project: Project | None = None,
) -> FrozenModel:
    """A new version of ``name`` fitted as of ``as_of``: new cut points or centres, ids matched.

    Uses the project's current definition when declared there, else the stored one.
    """
    declared = project is not None and any(s.name == name for s in project.segmentations)
    definition = project.segmentation(name) if declared else resolve(load_model(con, name).definition)
    return fit(con, definition, as_of, features=features, project=project)


def segments(
    con: BaseBackend,
    name: str,
    as_of: date | str,
    *,
    version: int | None = None,
    features: ibis.Table | None = None,
    project: Project | None = None,
) -> ibis.Table:
    """Memberships as of ``as_of`` with the frozen model (latest version by default)."""
    model = load_model(con, name, version)
    if features is None:
        features = features_at(con, as_date(as_of), project, model.features)
    return assign(con, model, features)
