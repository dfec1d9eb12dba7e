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

from segmento.segmentations.base import Segment, Segmenter
from segmento.segmentations.clustering import KMeansSegmenter
from segmento.segmentations.rfm import RFMSegmenter
from segmento.segmentations.stored import fitted, model_document, summary, versions
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
        return cls.from_document(json.loads(text))

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> FrozenModel:
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
        return summary(self.name, self.version, self.kind, self.as_of, [(s.id, s.label) for s in self.segments])


def build_estimator(definition: Any) -> Segmenter:
    """The unfitted model a definition (config entry or dict) describes."""
    spec = definition if isinstance(definition, dict) else definition.model_dump(mode="json")
    cls = KINDS[spec["kind"]]
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in spec.items() if k in accepted and v is not None})


def models_table(con: BaseBackend) -> ibis.Table:
    """The model store."""
    return table(con, MODELS)


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
    return FrozenModel.from_document(model_document(con, name, version))


def latest_models(con: BaseBackend, names: list[str]) -> dict[str, FrozenModel]:
    """The latest version of each fitted model among ``names``, in one read (a batch step loads
    every segmentation's model each period, and each read has a fixed cost on a cluster engine)."""
    table = models_table(con)
    newest = table.filter(table.name.isin(names)).group_by("name").agg(version=table.version.max())
    rows = table.semi_join(newest, ["name", "version"]).select("name", "model").to_pyarrow().to_pylist()
    return {row["name"]: FrozenModel.from_json(row["model"]) for row in rows}
