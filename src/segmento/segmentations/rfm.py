"""RFM: recency, frequency and monetary scores and a named map of their cells.

Scores. Each axis is cut into ``bins`` levels (5 = quintiles) with *tie-aware* cut points:
walking the values from worst to best, a level closes at the tie-group boundary that
brings its share closest to an equal split of what is left; a tie group is never split.
So when 60 % of customers bought once, "one order" is F=1 on its own and the remaining
levels share the 40 % who bought more: F=5 still means "the most frequent", not a coin
flip among ties (which is what rank-based quintiles do). Heavy tails do not matter either:
cut points are order statistics. With fewer distinct values than levels, the levels used
are spread over 1..bins so the best customers still score ``bins``.

Frozen cut points. The cut points are computed as of the fit date (on the fit sample)
and stored with the model; next month's scoring uses the same cut points, so a customer
who moves from F=3 to F=4 really ordered more, and the base drifting does not move
everybody silently. ``refit`` computes new cut points as a new version.

The map. Segments are sets of (R, F, M) cells written ``r=4-5 fm=4-5`` (keys r, f, m and
fm = floor((F+M)/2); values ``*``, ``3``, ``2-4``, ``1,3``; ``*`` alone is every cell); every one of the bins**3 cells
must belong to exactly one segment, checked when the project is read. The default map
(defined on the 5-level scale, rescaled for other scales) follows the usual 11 segments.
Customers who never bought (no recency) are in ``no_purchase``, never NULL.

Windows. The three axes read the same window, lifetime by default (recency_days,
orders_lifetime, spend_lifetime): with all-time recency but 12-month frequency and spend,
anyone silent for a year scores F=M=1 and the "at risk" / "can't lose them" cells
(low R, high F and M) can never fill.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import ibis
import numpy as np
import pandas as pd

from segmento.segmentations.base import Segment, Segmenter, as_float, ordered_cases
from segmento.segmentations.cells import AXES, DEFAULT_MAP, NO_PURCHASE, compile_map

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "champions": "Champions", "loyal": "Loyal", "potential_loyalists": "Potential loyalists", "new": "New",
        "promising": "Promising", "need_attention": "Need attention", "about_to_sleep": "About to sleep",
        "at_risk": "At risk", "cant_lose": "Can't lose them", "hibernating": "Hibernating", "lost": "Lost",
        NO_PURCHASE: "No purchase",
    },
    "fr": {
        "champions": "Champions", "loyal": "Fidèles", "potential_loyalists": "Fidèles en devenir",
        "new": "Nouveaux", "promising": "Prometteurs", "need_attention": "À surveiller",
        "about_to_sleep": "En train de s'endormir", "at_risk": "À risque", "cant_lose": "À ne pas perdre",
        "hibernating": "En hibernation", "lost": "Perdus", NO_PURCHASE: "Sans achat",
    },
}

# ---- scores ---------------------------------------------------------------------------

def tie_aware_cuts(values: np.ndarray, bins: int) -> list[float]:
    """Ascending cut points; a value's level is the number of cut points strictly below it."""
    vals, counts = np.unique(values[~np.isnan(values)], return_counts=True)
    cum = np.cumsum(counts)
    total = cum[-1] if len(cum) else 0
    cuts: list[float] = []
    start, done, left = 0, 0, bins
    while True:
        levels = min(left, len(vals) - start)
        if levels <= 1:
            return cuts
        target = done + (total - done) / levels
        last = len(vals) - levels  # leave one distinct value for each later level
        j = start + int(np.argmin(np.abs(cum[start : last + 1] - target)))
        cuts.append(float(vals[j]))
        done, start, left = cum[j], j + 1, levels - 1


def level_scores(n_cuts: int, bins: int) -> list[int]:
    """Score of each level: 1..bins, spread out when fewer levels than bins were possible."""
    levels = n_cuts + 1
    if levels == 1:
        return [1]
    return [1 + int(np.floor(i * (bins - 1) / (levels - 1) + 0.5)) for i in range(levels)]


def score(values: np.ndarray, cuts: Sequence[float], scores: Sequence[int]) -> np.ndarray:
    """numpy scoring with the same rule as the engine: NaN takes the lowest level."""
    level = np.searchsorted(np.asarray(cuts, dtype="float64"), values, side="left")
    level[np.isnan(values)] = 0
    return np.asarray(scores)[level]


# ---- the model ------------------------------------------------------------------------

class RFMSegmenter(Segmenter):
    """RFM scores with frozen tie-aware cut points and a complete cell map."""

    kind: ClassVar[str] = "rfm"

    def __init__(
        self,
        recency: str = "recency_days",
        frequency: str = "orders_lifetime",
        monetary: str = "spend_lifetime",
        bins: int = 5,
        map: list[dict[str, Any]] | None = None,  # noqa: A002 - the config key
        language: str = "en",
        labels: dict[str, str] | None = None,
    ) -> None:
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
        self.bins = bins
        self.map = map
        self.language = language
        self.labels = labels

    def inputs(self) -> list[str]:
        return [self.recency, self.frequency, self.monetary]

    def _oriented(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Higher is better on every axis: recency is negated; missing F and M count as 0."""
        return {
            "r": -as_float(X, self.recency),
            "f": np.nan_to_num(as_float(X, self.frequency), nan=0.0),
            "m": np.nan_to_num(as_float(X, self.monetary), nan=0.0),
        }

    def fit(self, X: pd.DataFrame) -> RFMSegmenter:
        buyers = X[X[self.recency].notna()]
        oriented = self._oriented(buyers)
        self.cuts_ = {axis: tie_aware_cuts(oriented[axis], self.bins) for axis in AXES}
        self.scores_ = {axis: level_scores(len(self.cuts_[axis]), self.bins) for axis in AXES}
        cells = compile_map(self.map, self.bins)
        order = [e["id"] if isinstance(e, dict) else e.id for e in (self.map or DEFAULT_MAP)]
        self.cells_ = {"".join(map(str, cell)): segment for cell, segment in sorted(cells.items())}
        labels = LABELS.get(self.language, LABELS["en"]) | {
            e["id"]: e["label"] for e in (self.map or []) if isinstance(e, dict) and e.get("label")
        } | (self.labels or {})
        self.segments_ = [
            Segment(sid, labels.get(sid, sid.replace("_", " ").capitalize()), rank)
            for rank, sid in enumerate([*order, NO_PURCHASE], start=1)
        ]
        return self

    def scores(self, X: pd.DataFrame) -> pd.DataFrame:
        """R, F, M scores per row (0 on every axis for customers who never bought)."""
        oriented = self._oriented(X)
        out = pd.DataFrame({axis: score(oriented[axis], self.cuts_[axis], self.scores_[axis]) for axis in AXES})
        out.loc[np.isnan(oriented["r"]), list(AXES)] = 0
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        s = self.scores(X)
        codes = (s.r.astype(str) + s.f.astype(str) + s.m.astype(str)).to_numpy()
        return np.array([self.cells_.get(code, NO_PURCHASE) for code in codes], dtype=object)

    def space(self, X: pd.DataFrame) -> np.ndarray:
        return self.scores(X).to_numpy(dtype="float64")

    def score_expr(self, t: ibis.Table) -> ibis.Table:
        """``t`` plus r, f, m scores, in the engine (0s for customers who never bought)."""
        recency = t[self.recency].cast("float64")
        values = {
            "r": -recency,
            "f": t[self.frequency].cast("float64").fill_null(0),
            "m": t[self.monetary].cast("float64").fill_null(0),
        }
        return t.mutate(**{
            f"_seg_{axis}": ibis.ifelse(
                recency.isnull(), 0, ordered_cases(values[axis], self.cuts_[axis], self.scores_[axis], "int64")
            )
            for axis in AXES
        })

    def expr(self, t: ibis.Table) -> ibis.Table:
        s = self.score_expr(t)
        s = s.mutate(_seg_code=s._seg_r * 100 + s._seg_f * 10 + s._seg_m)
        by_segment: dict[str, list[int]] = {}
        for cell, segment in self.cells_.items():
            by_segment.setdefault(segment, []).append(int(cell))
        segment_id = ibis.cases(
            *((s._seg_code.isin(cells), segment) for segment, cells in by_segment.items()),
            else_=ibis.literal(NO_PURCHASE),
        )
        return s.mutate(segment_id=segment_id).drop("_seg_r", "_seg_f", "_seg_m", "_seg_code")

    def thresholds(self) -> dict[str, list[float]]:
        """Cut points in the features' own units (recency in days, ascending)."""
        return {
            "recency": sorted(-c for c in self.cuts_["r"]),
            "frequency": list(self.cuts_["f"]),
            "monetary": list(self.cuts_["m"]),
        }
