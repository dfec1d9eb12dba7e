"""Quality report: homogeneity and predictive power against pandas, and the warnings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from segmentations_oracles import eta_squared

import segmento
from segmento.segmentations import fit
from segmento.segmentations.quality import quality
from segmento.segmentations.synthetic import planted_features
from segmento.store.schema import TABLES

FEATURES = ["spend_12m", "orders_12m", "recency_days", "share_web_12m"]
AS_OF = date(2024, 6, 30)


@pytest.fixture
def shop(tmp_path):
    """A knowledge base with planted customers, their features, and orders around the as-of date."""
    frame = planted_features(2000, 4, seed=5, features=FEATURES)
    ws = segmento.connect(tmp_path / "kb.duckdb")
    ws.con.insert("customers", pa.table({"customer_id": frame.customer_id, "signup_date": [date(2020, 1, 1)] * len(frame)}))
    rng = np.random.default_rng(1)
    edges = [datetime(2024, 6, 30, 23, 59), datetime(2024, 7, 1), datetime(2024, 9, 28, 23, 59), datetime(2024, 9, 29)]
    rows = []
    for i, (customer, truth) in enumerate(zip(frame.customer_id, frame.truth)):
        for _ in range(rng.poisson(1 + truth)):
            rows.append((customer, datetime(2024, 7, 1) + timedelta(hours=int(rng.integers(0, 89 * 24))), 20.0 * (1 + truth)))
        if i < len(edges):
            rows.append((customer, edges[i], 100.0))
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount"])
    orders["order_id"] = [f"O{i}" for i in range(len(orders))]
    orders["channel"] = "store"
    schema = TABLES["orders"].schema.to_pyarrow()
    ws.con.insert("orders", pa.Table.from_pandas(orders.reindex(columns=schema.names), schema=schema, preserve_index=False))
    ws.con.create_table("features", frame.drop(columns="truth"))
    yield ws, frame, orders
    ws.close()


def test_homogeneity_and_predictive_power_match_pandas(shop):
    ws, frame, orders = shop
    table = ws.table("features")
    model = fit(ws.con, {"kind": "kmeans", "name": "b", "k": 4, "features": FEATURES}, AS_OF, features=table)
    report = quality(ws.con, model, table, bootstraps=3)
    segment = pd.Series(model.predict(frame), index=frame.customer_id)
    numeric = frame.set_index("customer_id")[FEATURES].astype(float)
    skewed = [c for c in FEATURES if numeric[c].min() >= 0 and numeric[c].skew() > 1]  # measured on a log scale
    numeric[skewed] = np.log1p(numeric[skewed])
    expected = numeric.groupby(segment).std(ddof=0) / numeric.std(ddof=0)
    assert report.homogeneity_scale == {c: "log" if c in skewed else "raw" for c in FEATURES} and skewed
    pd.testing.assert_frame_equal(report.homogeneity.sort_index(), expected.sort_index(), check_names=False, rtol=1e-9)
    separation = pd.DataFrame({s: (numeric[segment == s].mean() - numeric[segment != s].mean()).abs() / numeric.std(ddof=0)
                               for s in segment.unique()}).T  # brute force: each segment against the rest
    pd.testing.assert_frame_equal(report.separation.sort_index(), separation.sort_index()[FEATURES],
                                  check_names=False, rtol=1e-9)
    long = report.per_feature()
    assert len(long) == len(model.segments) * len(FEATURES)
    assert set(long.columns) == {"segment_id", "feature", "homogeneity", "separation", "scale"}
    text = str(report)
    assert "homogeneity" in text and "separation" in text and model.segments[0].label in text
    window = orders[(orders.ordered_at >= datetime(2024, 7, 1)) & (orders.ordered_at < datetime(2024, 9, 29))]
    spend = window.groupby("customer_id").amount.sum().reindex(frame.customer_id, fill_value=0.0)
    assert report.predictive_power == pytest.approx(eta_squared(spend, segment.reindex(spend.index)))
    assert report.sizes["size"].sum() == len(frame)
    assert report.silhouette > 0.5 and report.stability > 0.9
    assert report.warnings == []


def test_an_outcome_table_replaces_next_period_spend(shop):
    ws, frame, _ = shop
    table = ws.table("features")
    model = fit(ws.con, {"kind": "tiers", "name": "v", "tiers": [{"id": "a", "quantile": 0.5}, {"id": "b"}]}, AS_OF,
                features=table)
    outcome = frame.assign(value=frame.spend_12m * 0.1 + np.arange(len(frame)) % 7)[["customer_id", "value"]]
    ws.con.create_table("outcome", outcome)
    report = quality(ws.con, model, table, outcome=ws.table("outcome"), bootstraps=2)
    segment = pd.Series(model.predict(frame), index=frame.customer_id)
    assert report.predictive_power == pytest.approx(eta_squared(outcome.set_index("customer_id").value, segment))


def test_warnings_for_too_many_small_or_mixed_segments(shop):
    ws, frame, _ = shop
    noise = pd.DataFrame(np.random.default_rng(0).random((1500, 6)), columns=list("abcdef"))
    noise.insert(0, "customer_id", [f"N{i}" for i in range(1500)])
    ws.con.create_table("noise", noise)
    mixed = fit(ws.con, {"kind": "kmeans", "name": "noise", "k": 2, "features": list("abcdef"), "scaling": "none"},
                AS_OF, features=ws.table("noise"))
    report = quality(ws.con, mixed, ws.table("noise"), outcome=ws.table("noise").select("customer_id", value="a"),
                     bootstraps=2)
    assert any("heterogeneous" in w for w in report.warnings)
    many = fit(ws.con, {"kind": "kmeans", "name": "many", "k": 14, "features": FEATURES}, AS_OF,
               features=ws.table("features"))
    report = quality(ws.con, many, ws.table("features"), bootstraps=0, max_segments=12, min_share=0.05)
    assert any("14 segments" in w for w in report.warnings)
    assert any("< 5%" in w for w in report.warnings)


def test_no_orders_after_the_date_means_no_predictive_power(shop):
    ws, _, _ = shop
    model = fit(ws.con, {"kind": "kmeans", "name": "b", "k": 3, "features": FEATURES}, AS_OF, features=ws.table("features"))
    report = quality(ws.con, model, ws.table("features"), as_of=date(2025, 1, 31), bootstraps=0)
    assert report.predictive_power is None
    assert any("no orders after 2025-01-31" in w for w in report.warnings)
    assert "predictive power" in str(report) and report.to_dict()["predictive_power"] is None
