"""Frozen, versioned segmentation models in the knowledge base (``segmentation_models``).

A fitted model is stored whole (definition, parameters, learned cut points or centres,
segments, fit date) as one JSON document per (name, version). Next month's assignment
loads it back, so segment ids keep their meaning; a refit is a new version.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from segmento.errors import NotFoundError
from segmento.segmentations.base import Segment, Segmenter
from segmento.segmentations.clustering import KMeansSegmenter
from segmento.segmentations.rfm import RFMSegmenter
from segmento.segmentations.tiers import TierSegmenter
from segmento.store.backend import transaction
from segmento.store.registry import SEGMENTATION_MODELS
from segmento.store.tables import table

MODELS = SEGMENTATION_MODELS.name
KINDS: dict[str, type[Segmenter]] = {c.kind: c for c in (RFMSegmenter, TierSegmenter, KMeansSegmenter)}


@dataclass
class FrozenModel:
    """One version of a segmentation: what was asked, what was learned, when."""

    name: str
    version: int
    as_of: date
    definition: dict[str, Any]
    estimator: Segmenter
    fitted_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))
    fit_rows: int = 0
    previous_version: int | None = None
    match: dict[str, Any] | None = None  # how this version's segments match the previous one's

    @property
    def kind(self) -> str:
        return self.estimator.kind

    @property
    def segments(self) -> list[Segment]:
        """Segments best first: id, label, rank (1 = best)."""
        return list(self.estimator.segments_)

    @property
    def features(self) -> list[str]:
        return self.estimator.inputs()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Segment ids for an in-memory frame (same answer as ``assign`` in the engine)."""
        return self.estimator.predict(frame)

    def to_json(self) -> str:
        return json.dumps(
            {
                "name": self.name,
                "version": self.version,
                "as_of": self.as_of.isoformat(),
                "fitted_at": self.fitted_at.isoformat(),
                "definition": self.definition,
                "kind": self.kind,
                "state": self.estimator.state(),
                "fit_rows": self.fit_rows,
                "previous_version": self.previous_version,
                "match": self.match,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> FrozenModel:
        doc = json.loads(text)
        return cls(
            name=doc["name"],
            version=doc["version"],
            as_of=date.fromisoformat(doc["as_of"]),
            fitted_at=datetime.fromisoformat(doc["fitted_at"]),
            definition=doc["definition"],
            estimator=KINDS[doc["kind"]].from_state(doc["state"]),
            fit_rows=doc["fit_rows"],
            previous_version=doc["previous_version"],
            match=doc["match"],
        )

    def __str__(self) -> str:
        segments = ", ".join(f"{s.id} ({s.label})" for s in self.segments)
        return f"{self.name} v{self.version} [{self.kind}] as of {self.as_of}: {segments}"


def build_estimator(definition: Any) -> Segmenter:
    """The unfitted model a definition (config entry or dict) describes."""
    spec = definition if isinstance(definition, dict) else definition.model_dump(mode="json")
    cls = KINDS[spec["kind"]]
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in spec.items() if k in accepted and v is not None})


def models_table(con: BaseBackend) -> ibis.Table:
    """The model store."""
    return table(con, MODELS)


def fitted(con: BaseBackend) -> list[str]:
    """Names of the segmentations with at least one stored version, sorted."""
    return sorted(set(models_table(con).select("name").to_pyarrow().column("name").to_pylist()))


def versions(con: BaseBackend, name: str) -> list[int]:
    table = models_table(con)
    rows = table.filter(table.name == name).select("version").order_by("version").to_pyarrow()
    return rows.column("version").to_pylist()


def store_model(con: BaseBackend, model: FrozenModel) -> FrozenModel:
    """Append ``model`` under the next free version number (set on the model)."""
    with transaction(con):
        model.version = max(versions(con, model.name), default=0) + 1
        row = {
            "name": [model.name],
            "version": [model.version],
            "kind": [model.kind],
            "as_of": [model.as_of],
            "fitted_at": [model.fitted_at],
            "model": [model.to_json()],
        }
        con.insert(MODELS, ibis.memtable(pd.DataFrame(row)).cast(SEGMENTATION_MODELS.schema))
    return model


def load_model(con: BaseBackend, name: str, version: int | None = None) -> FrozenModel:
    """A stored model: ``version``, or the latest one."""
    known = versions(con, name)
    if not known:
        raise NotFoundError(f"no fitted segmentation {name!r} (fitted: {', '.join(fitted(con)) or 'none'}); "
                           f"fit it first: segmento fit {name} --as-of YYYY-MM-DD")
    wanted = known[-1] if version is None else version
    if wanted not in known:
        raise NotFoundError(f"segmentation {name!r} has no version {wanted}; versions: {', '.join(map(str, known))}")
    table = models_table(con)
    text = table.filter((table.name == name) & (table.version == wanted)).select("model").to_pyarrow()
    return FrozenModel.from_json(text.column("model")[0].as_py())
