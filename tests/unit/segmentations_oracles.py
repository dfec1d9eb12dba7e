"""Independent oracles for segmentation tests: plain pandas / Python, written from the
documented rules, sharing no code with segmento.segmentations."""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import numpy as np
import pandas as pd


def duckdb_features(path: Path, frame: pd.DataFrame, name: str = "features") -> tuple[ibis.BaseBackend, ibis.Table]:
    """A real DuckDB file holding ``frame`` as a table (what a features stage would hand over)."""
    con = ibis.duckdb.connect(str(path))
    con.create_table(name, frame, overwrite=True)
    return con, con.table(name)


def engine_segments(table: ibis.Table) -> pd.Series:
    """customer_id -> segment_id from an assignment table."""
    frame = table.to_pandas()
    assert frame.customer_id.is_unique, "a customer is in more than one segment"
    assert frame.segment_id.notna().all(), "a customer has no segment"
    return frame.set_index("customer_id").segment_id.sort_index()


def tie_aware_levels(values: pd.Series, bins: int) -> pd.Series:
    """0-based level per row: walk tie groups from lowest to highest; a level ends after the
    tie group whose running count is closest to an equal split of what is left (first on a tie),
    leaving at least one tie group for each later level."""
    groups = list(values.value_counts().sort_index().items())
    total = sum(count for _, count in groups)
    level_of: dict[float, int] = {}
    start, taken, level, levels_left = 0, 0, 0, bins
    while start < len(groups):
        here = min(levels_left, len(groups) - start)
        if here == 1:
            level_of.update({value: level for value, _ in groups[start:]})
            break
        goal = taken + (total - taken) / here
        best_end, best_gap, running = start, math.inf, taken
        for end in range(start, len(groups) - here + 1):
            running += groups[end][1]
            if abs(running - goal) < best_gap:
                best_end, best_gap = end, abs(running - goal)
        for value, count in groups[start : best_end + 1]:
            level_of[value] = level
            taken += count
        start, level, levels_left = best_end + 1, level + 1, here - 1
    return values.map(level_of)


def scores_from_levels(levels: pd.Series, bins: int) -> pd.Series:
    """1..bins; when fewer levels exist they are spread so the top level scores ``bins``."""
    used = int(levels.max()) + 1
    if used == 1:
        return levels * 0 + 1
    return levels.map(lambda level: 1 + math.floor(level * (bins - 1) / (used - 1) + 0.5))


def rfm_oracle(frame: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """R, F, M scores and the default 11-segment map, customers who never bought apart."""
    buyers = frame[frame.recency_days.notna()]
    out = pd.DataFrame(index=frame.customer_id)
    for axis, column, sign in (("r", "recency_days", -1), ("f", "orders_lifetime", 1), ("m", "spend_lifetime", 1)):
        fitted = sign * buyers[column].astype(float).fillna(0)
        levels = tie_aware_levels(fitted, bins)
        scores_by_value = dict(zip(fitted, scores_from_levels(levels, bins)))
        values = sign * frame[column].astype(float).fillna(0)
        out[axis] = [scores_by_value[v] if r == r else 0 for v, r in zip(values, frame.recency_days)]
    out["segment"] = [default_map(r, f, m) for r, f, m in zip(out.r, out.f, out.m)]
    return out


def default_map(r: int, f: int, m: int) -> str:
    """The documented default map on the 5-level scale, as plain conditions."""
    if r == 0:
        return "no_purchase"
    fm = (f + m) // 2
    if r == 5 and fm >= 4:
        return "champions"
    if r in (3, 4) and fm >= 4:
        return "loyal"
    if r >= 4 and fm in (2, 3):
        return "potential_loyalists"
    if r == 5 and fm == 1:
        return "new"
    if r == 4 and fm == 1:
        return "promising"
    if r == 3 and fm == 3:
        return "need_attention"
    if r <= 2 and fm == 5:
        return "cant_lose"
    if r <= 2 and fm in (3, 4):
        return "at_risk"
    if r == 3:
        return "about_to_sleep"
    if r == 2:
        return "hibernating"
    return "lost"


def eta_squared(values: pd.Series, groups: pd.Series) -> float:
    """Share of the variance of ``values`` explained by ``groups`` (between / total sum of squares)."""
    grand = values.mean()
    between = sum(len(v) * (v.mean() - grand) ** 2 for _, v in values.groupby(groups))
    return float(between / ((values - grand) ** 2).sum())


def nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre by brute force."""
    return np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
