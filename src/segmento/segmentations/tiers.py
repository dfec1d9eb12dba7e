"""Value tiers: very good / good / occasional / inactive, from thresholds or quantiles.

Tiers are listed best first and that order is the rank the dynamics stage reads ("down"
means a larger rank). A tier's bound is a fixed threshold (``min``: value >= min,
``above``: value > above) or a ``quantile`` of the feature, computed as of the fit date
among buying customers (value > 0, the default) or all customers, then *frozen*: next
month's customers are compared with the same amounts. The last tier has no bound and
takes everyone else, including customers with no value (NULL), so nobody is unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd

from segmento.errors import NotReadyError
from segmento.segmentations.base import Segment, Segmenter, as_float
from segmento.segmentations.settings import check_tiers


class TierSegmenter(Segmenter):
    """Ordered tiers of one feature with frozen cut values."""

    kind: ClassVar[str] = "tiers"

    def __init__(
        self,
        feature: str = "spend_12m",
        tiers: list[dict[str, Any]] | None = None,
        quantile_among: str = "positive",
        language: str = "en",
        labels: dict[str, str] | None = None,
    ) -> None:
        self.feature = feature
        self.tiers = tiers
        self.quantile_among = quantile_among
        self.language = language
        self.labels = labels

    def inputs(self) -> list[str]:
        return [self.feature]

    def fit(self, X: pd.DataFrame) -> TierSegmenter:
        tiers = self.tiers or []
        check_tiers(tiers)
        values = as_float(X, self.feature)
        values = values[~np.isnan(values)]
        pool = values[values > 0] if self.quantile_among == "positive" else values
        self.bounds_: list[list[Any]] = []  # [operator, value] per tier except the last
        for tier in tiers[:-1]:
            if tier.get("quantile") is not None:
                if not len(pool):
                    raise NotReadyError(f"tier {tier['id']}: no {self.quantile_among} {self.feature} values to take a quantile of")
                self.bounds_.append([">=", float(np.quantile(pool, tier["quantile"]))])
            elif tier.get("min") is not None:
                self.bounds_.append([">=", float(tier["min"])])
            else:
                self.bounds_.append([">", float(tier["above"])])
        for (better, worse), (b_op, b_value), (w_op, w_value) in zip(
            zip(tiers, tiers[1:]), self.bounds_, self.bounds_[1:]
        ):
            if b_value < w_value or (b_value == w_value and (b_op, w_op) == (">=", ">")):
                raise ValueError(
                    f"tier {better['id']} ({b_op} {b_value:g}) would be below tier {worse['id']} ({w_op} {w_value:g}) "
                    f"as of this fit: tier {worse['id']} would never be used"
                )
        labels = self.labels or {}
        self.segments_ = [
            Segment(t["id"], labels.get(t["id"]) or t.get("label") or t["id"].replace("_", " ").capitalize(), rank)
            for rank, t in enumerate(tiers, start=1)
        ]
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        values = as_float(X, self.feature)
        out = np.full(len(values), self.segments_[-1].id, dtype=object)
        placed = np.zeros(len(values), dtype=bool)
        with np.errstate(invalid="ignore"):
            for segment, (op, bound) in zip(self.segments_, self.bounds_):
                hit = (values >= bound if op == ">=" else values > bound) & ~placed
                out[hit] = segment.id
                placed |= hit
        return out

    def expr(self, t: ibis.Table) -> ibis.Table:
        value = t[self.feature].cast("float64")
        branches = [
            ((value >= bound) if op == ">=" else (value > bound), segment.id)
            for segment, (op, bound) in zip(self.segments_, self.bounds_)
        ]
        return t.mutate(segment_id=ibis.cases(*branches, else_=ibis.literal(self.segments_[-1].id)))

    def space(self, X: pd.DataFrame) -> np.ndarray:
        values = np.nan_to_num(as_float(X, self.feature), nan=0.0)
        return (np.sign(values) * np.log1p(np.abs(values)))[:, None]

    def thresholds(self) -> dict[str, list[Any]]:
        return {s.id: bound for s, bound in zip(self.segments_, self.bounds_)}
