"""What every segmentation model shares: ordered segments, frozen state, a sample frame.

A model is a scikit-learn style estimator: ``__init__`` stores parameters, ``fit`` learns
from a pandas sample and returns self, learned attributes end with ``_``. It answers in
two ways that must agree: ``predict`` (numpy, for samples, bootstrap and tests) and
``expr`` (an Ibis expression, for the whole base inside the engine).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator


@dataclass(frozen=True)
class Segment:
    """One segment: a stable id, a label for people, a rank (1 = best) for the dynamics stage."""

    id: str
    label: str
    rank: int
    description: str = ""


class Segmenter(BaseEstimator):
    """Base class: state to/from JSON, and the ordered segment list."""

    kind: ClassVar[str]
    segments_: list[Segment]

    # ---- what subclasses implement ------------------------------------------------
    def inputs(self) -> list[str]:
        """Feature columns the model reads."""
        raise NotImplementedError

    def fit(self, X: pd.DataFrame) -> Segmenter:
        raise NotImplementedError

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Segment id per row (object array)."""
        raise NotImplementedError

    def expr(self, t: ibis.Table) -> ibis.Table:
        """``t`` plus a ``segment_id`` column computed in the engine (helpers are named _seg_*)."""
        raise NotImplementedError

    def space(self, X: pd.DataFrame) -> np.ndarray:
        """The numeric space the model separates customers in (for silhouette)."""
        raise NotImplementedError

    def homogeneity_features(self) -> list[str]:
        """Numeric features whose spread inside segments measures homogeneity."""
        return self.inputs()

    # ---- shared ---------------------------------------------------------------------
    @property
    def segment_ids(self) -> list[str]:
        return [s.id for s in self.segments_]

    def segment(self, segment_id: str) -> Segment:
        return next(s for s in self.segments_ if s.id == segment_id)

    def state(self) -> dict[str, Any]:
        """Parameters and learned attributes as JSON-ready values (the frozen model)."""
        learned = {k: _jsonable(v) for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        learned.pop("kmeans_", None)  # the in-memory sklearn object; centers are kept separately
        learned["segments_"] = [asdict(s) for s in self.segments_]
        return {"params": _jsonable(self.get_params()), "learned": learned}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Segmenter:
        model = cls(**state["params"])
        for key, value in state["learned"].items():
            setattr(model, key, value)
        model.segments_ = [Segment(**s) for s in state["learned"]["segments_"]]
        return model


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Segment):
        return asdict(value)
    return value


def label_expr(segment_id: ibis.StringValue, segments: list[Segment]) -> ibis.StringValue:
    """segment id -> label, inside the engine."""
    return ibis.cases(*((segment_id == s.id, s.label) for s in segments), else_=ibis.null("string"))


def rank_expr(segment_id: ibis.StringValue, segments: list[Segment]) -> ibis.IntegerValue:
    """segment id -> rank (1 = best), inside the engine."""
    return ibis.cases(*((segment_id == s.id, s.rank) for s in segments), else_=ibis.null("int64")).cast("int64")


def as_float(X: pd.DataFrame, column: str) -> np.ndarray:
    """A feature as float64 with NaN for missing (booleans become 0/1)."""
    return pd.to_numeric(X[column].astype("float64"), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def ordered_cases(value: ibis.NumericValue, cuts: list[float], outputs: list[Any], dtype: str) -> ibis.Value:
    """outputs[i] where i = number of cuts strictly below value (cuts ascending); NULL value -> outputs[0]."""
    branches = [(value > cut, outputs[i + 1]) for i, cut in reversed(list(enumerate(cuts)))]
    if not branches:
        return ibis.literal(outputs[0], type=dtype)
    return ibis.cases(*branches, else_=ibis.literal(outputs[0], type=dtype))
