"""Value tiers: thresholds and frozen quantiles, best tier first, nobody left out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from segmentations_oracles import duckdb_features, engine_segments

from segmento.segmentations import fit
from segmento.segmentations.assign import assign
from segmento.segmentations.synthetic import rfm_features

TIERS = {
    "kind": "tiers",
    "name": "value",
    "feature": "spend_12m",
    "tiers": [
        {"id": "very_good", "label": "Very good", "quantile": 0.9},
        {"id": "good", "min": 100},
        {"id": "occasional", "above": 0},
        {"id": "inactive"},
    ],
}


def oracle(spend: pd.Series, top_cut: float) -> list[str]:
    def tier(value: float) -> str:
        if value != value:  # NULL
            return "inactive"
        if value >= top_cut:
            return "very_good"
        if value >= 100:
            return "good"
        return "occasional" if value > 0 else "inactive"

    return [tier(v) for v in spend]


def test_tiers_match_the_oracle_and_cover_everyone(tmp_path):
    frame = rfm_features(4000, seed=5)
    frame.loc[frame.index[:50], "spend_12m"] = np.nan
    con, table = duckdb_features(tmp_path / "kb.duckdb", frame)
    model = fit(con, TIERS, "2024-06-30", features=table)
    top_cut = frame.spend_12m[frame.spend_12m > 0].quantile(0.9)  # pandas' own quantile
    assert model.estimator.thresholds()["very_good"] == [">=", pytest.approx(top_cut)]
    got = engine_segments(assign(con, model, table))
    assert got.tolist() == pd.Series(oracle(frame.spend_12m, top_cut), index=frame.customer_id).sort_index().tolist()
    assert [(s.id, s.rank) for s in model.segments] == [("very_good", 1), ("good", 2), ("occasional", 3), ("inactive", 4)]
    con.disconnect()


def test_quantile_cut_is_frozen_at_the_fit_date(tmp_path):
    june = rfm_features(3000, seed=6)
    con, table = duckdb_features(tmp_path / "kb.duckdb", june)
    model = fit(con, TIERS, "2024-06-30", features=table)
    top_cut = june.spend_12m[june.spend_12m > 0].quantile(0.9)
    july = june.assign(spend_12m=june.spend_12m * 1.5)
    con.create_table("july", july)
    got = engine_segments(assign(con, model, con.table("july")))
    assert got.tolist() == pd.Series(oracle(july.spend_12m, top_cut), index=july.customer_id).sort_index().tolist()
    assert (got == "very_good").mean() > 0.12  # more customers clear June's bar
    con.disconnect()


def test_a_quantile_below_a_fixed_threshold_is_refused_at_fit(tmp_path):
    con, table = duckdb_features(tmp_path / "kb.duckdb", rfm_features(1000))
    definition = {**TIERS, "tiers": [{"id": "a", "quantile": 0.1}, {"id": "b", "min": 10_000}, {"id": "c"}]}
    with pytest.raises(ValueError, match="tier a .* would be below tier b"):
        fit(con, definition, "2024-06-30", features=table)
    con.disconnect()
