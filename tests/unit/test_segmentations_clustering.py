"""k-means segmentation: planted clusters recovered, engine twin of the transform, k choice,
categorical features, inactive customers, and matching of refits."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from segmentations_oracles import duckdb_features, engine_segments, nearest
from sklearn.metrics import adjusted_rand_score

from segmento.segmentations import fit
from segmento.segmentations.assign import assign
from segmento.segmentations.clustering import KMeansSegmenter
from segmento.segmentations.matching import hungarian, match_clusters
from segmento.segmentations.synthetic import planted_features

FEATURES = ["spend_12m", "orders_12m", "recency_days", "share_web_12m", "promo_spend_share_12m", "email_open_rate_12m"]


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    return planted_features(6000, 5, seed=11, features=FEATURES)


def test_planted_clusters_are_recovered(planted):
    model = KMeansSegmenter(features=FEATURES, k=5).fit(planted)
    assert adjusted_rand_score(planted.truth, model.predict(planted)) > 0.97


def test_auto_transform_logs_heavy_tails_only():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"customer_id": range(1000), "spend": rng.lognormal(4, 1.2, 1000), "share": rng.random(1000)})
    model = KMeansSegmenter(features=["spend", "share"], k=2).fit(frame)
    assert model.transforms_ == {"spend": "log", "share": "none"}


def test_automatic_k_finds_the_planted_number(planted):
    model = KMeansSegmenter(features=FEATURES, k="auto", k_min=2, k_max=8).fit(planted)
    assert model.k_ == 5
    chosen = [row for row in model.selection_ if row["chosen"]]
    assert [row["k"] for row in chosen] == [5]
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "min_share"} <= set(chosen[0])


def test_minimum_segment_share_rules_out_a_k():
    """Four planted groups, one holding 3 %: k=4 wins unless segments must hold 5 %."""
    rng = np.random.default_rng(2)
    sizes, centres = [1000, 1000, 1000, 93], [(0, 0), (6, 0), (0, 6), (6, 6)]
    points = np.vstack([rng.normal(c, 0.3, (n, 2)) for n, c in zip(sizes, centres)])
    frame = pd.DataFrame(points, columns=["a", "b"]).assign(customer_id=lambda f: f.index.astype(str))
    params = {"features": ["a", "b"], "k": "auto", "k_min": 2, "k_max": 5, "scaling": "none"}
    assert KMeansSegmenter(**params, min_segment_share=0.01).fit(frame).k_ == 4
    assert KMeansSegmenter(**params, min_segment_share=0.05).fit(frame).k_ == 3


def test_engine_transform_equals_numpy_transform(tmp_path, planted):
    frame = planted.head(300).assign(gender=np.resize(np.array(["F", "M", None, "X"], dtype=object), 300))
    frame.loc[frame.index[:7], "spend_12m"] = np.nan
    model = KMeansSegmenter(features=[*FEATURES, "gender"], categorical=["gender"], k=4,
                            transforms={"spend_12m": "log", "orders_12m": "log"}).fit(frame)
    frame.loc[frame.index[7], "orders_12m"] = -3.0  # signed log on a negative value
    later = frame.assign(gender=np.resize(np.array(["F", "unseen", None], dtype=object), 300))
    con, table = duckdb_features(tmp_path / "kb.duckdb", later)
    z = table.select("customer_id", **model.z_columns(table)).to_pandas().set_index("customer_id").sort_index()
    expected = pd.DataFrame(model.transform(later), index=later.customer_id).sort_index()
    np.testing.assert_allclose(z.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-12)
    assert model.levels_["gender"] == ["F", "M", "X", "(missing)"]
    con.disconnect()


def test_categorical_features_separate_clusters():
    """Four groups: store or web crossed with low or high spend; only the one-hot channel tells some apart."""
    rng = np.random.default_rng(4)
    channel = rng.choice(["store", "web"], 2000)
    high = rng.random(2000) < 0.5
    frame = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(2000)],
        "channel": channel,
        "spend_12m": np.where(high, rng.normal(300, 3, 2000), rng.normal(100, 3, 2000)),
    })
    model = KMeansSegmenter(features=["spend_12m", "channel"], categorical=["channel"], k=4).fit(frame)
    truth = frame.channel + high.astype(str)
    assert adjusted_rand_score(truth, model.predict(frame)) == 1.0


def test_inactive_customers_get_their_own_segment(tmp_path, planted):
    frame = planted.assign(orders_lifetime=np.where(np.arange(len(planted)) % 10 == 0, 0, 3))
    frame.loc[frame.index[:5], "orders_lifetime"] = np.nan
    con, table = duckdb_features(tmp_path / "kb.duckdb", frame)
    model = fit(con, {"kind": "kmeans", "name": "b", "features": FEATURES, "k": 5, "active": "orders_lifetime"},
                "2024-06-30", features=table)
    got = engine_segments(assign(con, model, table))
    inactive = frame.set_index("customer_id").orders_lifetime.fillna(0).sort_index() == 0
    assert ((got == "inactive") == inactive).all()
    assert model.segments[-1].id == "inactive" and model.segments[-1].rank == 6
    con.disconnect()


def test_segments_are_ranked_by_the_rank_feature(planted):
    model = KMeansSegmenter(features=FEATURES, k=5, rank_by="-recency_days").fit(planted)
    labels = model.predict(planted)
    means = planted.groupby(labels).recency_days.mean()
    assert [s.id for s in model.segments_] == means.sort_values().index.tolist()
    assert [s.id for s in model.segments_] == [f"c{i}" for i in range(1, 6)]


def test_hungarian_matching_recovers_a_permutation():
    rng = np.random.default_rng(8)
    old = rng.normal(0, 3, (7, 4))
    permutation = rng.permutation(7)
    new = old[permutation] + rng.normal(0, 0.05, (7, 4))
    pairs = hungarian(old, new)
    assert all(permutation[j] == i for i, j in pairs)


def test_refit_keeps_ids_and_reports_the_match(planted):
    first = KMeansSegmenter(features=FEATURES, k=5, seed=0).fit(planted.iloc[::2])
    again = KMeansSegmenter(features=FEATURES, k=5, seed=7).fit(planted.iloc[1::2])
    report = match_clusters(first, again)
    assert report["added"] == [] and report["retired"] == [] and report["weak"] == []
    assert (first.predict(planted) == again.predict(planted)).mean() > 0.99
    assert all(pair["relative"] < 0.2 for pair in report["pairs"])


def test_more_clusters_after_refit_get_new_ids_and_old_ids_are_not_reused(planted):
    first = KMeansSegmenter(features=FEATURES, k=4, seed=0).fit(planted)
    more = KMeansSegmenter(features=FEATURES, k=5, seed=0).fit(planted)
    report = match_clusters(first, more)
    assert report["added"] == ["c5"] and sorted(more.cluster_ids_) == ["c1", "c2", "c3", "c4", "c5"]
    fewer = KMeansSegmenter(features=FEATURES, k=3, seed=0).fit(planted)
    report = match_clusters(more, fewer)
    assert len(report["retired"]) == 2 and set(fewer.cluster_ids_) < set(more.cluster_ids_)
    newest = KMeansSegmenter(features=FEATURES, k=5, seed=1).fit(planted)
    report = match_clusters(fewer, newest)
    assert report["added"] == ["c6", "c7"]


def test_nearest_centroid_in_the_engine_is_brute_force_nearest():
    from segmento.segmentations.centroids import nearest_centroid

    rng = np.random.default_rng(0)
    points, centres = rng.normal(size=(500, 3)), rng.normal(size=(6, 3))
    table = ibis.memtable(pd.DataFrame(points, columns=["a", "b", "c"]).assign(i=range(500)))
    got = nearest_centroid(table, ["a", "b", "c"], centres.tolist(), [f"s{j}" for j in range(6)])
    got = got.order_by("i").to_pandas().segment_id.tolist()
    assert got == [f"s{j}" for j in nearest(points, centres)]


@pytest.mark.parametrize("k_new", [5, 6])
def test_a_refit_reuses_an_id_only_above_the_agreement_threshold(planted, k_new):
    first = KMeansSegmenter(features=FEATURES, k=4, seed=0).fit(planted)
    old_labels = first.predict(planted)
    probe = KMeansSegmenter(features=FEATURES, k=k_new, seed=3).fit(planted)
    agreements = sorted(p["agreement"] for p in match_clusters(first, probe, planted, 0.0)["pairs"])
    threshold = (agreements[0] + agreements[-1]) / 2  # some pairs above, some below
    again = KMeansSegmenter(features=FEATURES, k=k_new, seed=3).fit(planted)
    report = match_clusters(first, again, planted, threshold)
    new_labels = again.predict(planted)
    for pair in report["pairs"]:
        a = set(np.flatnonzero(old_labels == pair["id"]))
        b = set(np.flatnonzero(new_labels == pair["new_id"]))
        assert pair["agreement"] == pytest.approx(len(a & b) / len(a | b))  # brute-force Jaccard
        assert pair["kept"] == (pair["agreement"] >= threshold) == (pair["new_id"] == pair["id"])
    kept = {p["id"] for p in report["pairs"] if p["kept"]}
    assert kept and kept != set(first.cluster_ids_)
    assert sorted(report["retired"]) == sorted(set(first.cluster_ids_) - kept)
    assert set(report["added"]) == set(again.cluster_ids_) - kept
    assert all(int(i[1:]) > 4 for i in report["added"])  # a retired id is never given again
