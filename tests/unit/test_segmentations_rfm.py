"""RFM: tie-aware scores, the complete map, frozen cut points, checked against pandas oracles."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segmentations_oracles import duckdb_features, engine_segments, rfm_oracle, scores_from_levels, tie_aware_levels

from segmento.segmentations import fit
from segmento.segmentations.assign import assign
from segmento.segmentations.rfm import DEFAULT_MAP, compile_map, level_scores, score, tie_aware_cuts
from segmento.segmentations.synthetic import rfm_features


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.sampled_from([0, 1, 1, 1, 2, 3, 5, 8, 13, 40, 1000]), min_size=1, max_size=60),
    bins=st.integers(2, 7),
)
def test_tie_aware_scores_match_the_oracle(values: list[int], bins: int):
    x = np.asarray(values, dtype=float)
    cuts = tie_aware_cuts(x, bins)
    ours = score(x, cuts, level_scores(len(cuts), bins))
    expected = scores_from_levels(tie_aware_levels(pd.Series(x), bins), bins)
    assert ours.tolist() == expected.tolist()


def test_without_ties_scores_are_plain_quintiles():
    x = np.random.default_rng(3).permutation(1000).astype(float)
    cuts = tie_aware_cuts(x, 5)
    quintiles = pd.qcut(x, 5, labels=[1, 2, 3, 4, 5]).astype(int)
    assert score(x, cuts, level_scores(len(cuts), 5)).tolist() == quintiles.tolist()


def test_heavy_ties_keep_scores_meaningful():
    """60 % bought once: they share the lowest score; every higher count scores higher."""
    orders = np.array([1] * 600 + [2] * 150 + [3] * 100 + [4] * 60 + [6] * 50 + [20] * 40, dtype=float)
    cuts = tie_aware_cuts(orders, 5)
    s = score(orders, cuts, level_scores(len(cuts), 5))
    by_value = pd.Series(s).groupby(orders).agg(["min", "max"])
    assert (by_value["min"] == by_value["max"]).all(), "a tie group was split"
    assert by_value["min"].is_monotonic_increasing
    assert by_value.loc[1.0, "min"] == 1 and by_value.loc[20.0, "min"] == 5
    assert sorted(set(s)) == [1, 2, 3, 4, 5]


def test_fewer_distinct_values_than_levels_spread_to_the_top():
    x = np.array([1.0, 1, 2, 2, 2])
    cuts = tie_aware_cuts(x, 5)
    assert score(x, cuts, level_scores(len(cuts), 5)).tolist() == [1, 1, 5, 5, 5]
    assert score(np.array([7.0, 7.0]), tie_aware_cuts(np.array([7.0, 7.0]), 5), [1]).tolist() == [1, 1]


@pytest.mark.parametrize("bins", [3, 4, 5, 6, 9])
def test_default_map_is_a_complete_partition(bins: int):
    owner = compile_map(None, bins)
    assert set(owner) == set(itertools.product(range(1, bins + 1), repeat=3))
    ids = {e["id"] for e in DEFAULT_MAP}
    assert set(owner.values()) <= ids and (bins < 5 or set(owner.values()) == ids)


def test_default_map_covers_all_125_cells_like_the_oracle():
    from segmentations_oracles import default_map

    owner = compile_map(None, 5)
    assert len(owner) == 125
    assert all(owner[cell] == default_map(*cell) for cell in owner)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["r=1-5 f=* m=1-4"], "25 cells are in no segment: R1F1M5"),
        (["*", "r=5"], "R5F1M1 is in both a and b"),
        (["r=6"], "'6' is outside the scores 1..5"),
        (["x=1"], "should be r=, f=, m= or fm="),
    ],
)
def test_invalid_maps_are_refused_with_the_cells_at_fault(cells: list[str], message: str):
    entries = [{"id": "a", "cells": cells[:1]}] + ([{"id": "b", "cells": cells[1:]}] if len(cells) > 1 else [])
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        compile_map(entries, 5)


def test_scores_and_segments_in_duckdb_match_the_pandas_oracle(tmp_path):
    frame = rfm_features(6000, seed=4)
    con, table = duckdb_features(tmp_path / "kb.duckdb", frame)
    model = fit(con, {"kind": "rfm", "name": "rfm"}, "2024-06-30", features=table)
    oracle = rfm_oracle(frame)
    got = engine_segments(assign(con, model, table))
    assert got.to_dict() == oracle.segment.sort_index().to_dict()
    scored = model.estimator.score_expr(table).select("customer_id", "_seg_r", "_seg_f", "_seg_m").to_pandas()
    scored = scored.set_index("customer_id").sort_index()
    assert scored.to_numpy().tolist() == oracle[["r", "f", "m"]].sort_index().to_numpy().tolist()
    assert (model.predict(frame) == oracle.segment.to_numpy()).all()
    assert set(got) <= {s.id for s in model.segments} and "no_purchase" in set(got)
    con.disconnect()


def test_cut_points_are_frozen_for_next_month(tmp_path):
    """Next month's scoring uses the fit date's cut points, not the new month's quantiles."""
    june = rfm_features(3000, seed=1)
    july = june.assign(spend_lifetime=june.spend_lifetime * 2)  # everyone spends twice as much
    con, table = duckdb_features(tmp_path / "kb.duckdb", june)
    model = fit(con, {"kind": "rfm", "name": "rfm"}, "2024-06-30", features=table)
    con.create_table("july", july)
    scored = model.estimator.score_expr(con.table("july")).to_pandas().set_index("customer_id").sort_index()
    # the oracle's June levels: a July amount scores as the first June amount at or above it (the top score above all)
    buyers = june.spend_lifetime[june.recency_days.notna()].astype(float)
    score_of = pd.Series(scores_from_levels(tie_aware_levels(buyers, 5), 5).to_numpy(), index=buyers.to_numpy())
    score_of = score_of.groupby(level=0).first()
    at_or_above = np.searchsorted(score_of.index.to_numpy(), july.spend_lifetime.to_numpy(), side="left")
    frozen = [int(score_of.iloc[i]) if i < len(score_of) else 5 for i in at_or_above]
    expected = np.where(july.recency_days.isna(), 0, frozen)
    assert scored._seg_m.tolist() == pd.Series(expected, index=july.customer_id).sort_index().tolist()
    assert scored._seg_m[scored._seg_m > 0].mean() > rfm_oracle(june).m[lambda s: s > 0].mean()
    con.disconnect()


def test_labels_in_french_and_user_overrides(tmp_path):
    con, table = duckdb_features(tmp_path / "kb.duckdb", rfm_features(500))
    model = fit(con, {"kind": "rfm", "name": "rfm", "language": "fr", "labels": {"lost": "Partis"}}, "2024-06-30",
                features=table, store=False)
    labels = {s.id: s.label for s in model.segments}
    assert labels["champions"] == "Champions" and labels["loyal"] == "Fidèles" and labels["lost"] == "Partis"
    assert [s.rank for s in model.segments] == list(range(1, 13))
    con.disconnect()


def test_a_user_map_on_three_levels(tmp_path):
    frame = rfm_features(2000, seed=2)
    con, table = duckdb_features(tmp_path / "kb.duckdb", frame)
    definition = {
        "kind": "rfm", "name": "simple", "bins": 3,
        "map": [{"id": "best", "label": "Best", "cells": ["r=3 f=2-3"]}, {"id": "rest", "cells": ["r=3 f=1", "r=1-2"]}],
    }
    model = fit(con, definition, "2024-06-30", features=table)
    got = engine_segments(assign(con, model, table))
    s = rfm_oracle(frame, bins=3)
    expected = np.where(s.r == 0, "no_purchase", np.where((s.r == 3) & (s.f >= 2), "best", "rest"))
    assert got.tolist() == pd.Series(expected, index=s.index).sort_index().tolist()
    assert [x.id for x in model.segments] == ["best", "rest", "no_purchase"]
    con.disconnect()
