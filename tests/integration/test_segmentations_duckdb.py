"""Segmentations on real DuckDB files: pushed-down assignment equals scikit-learn's predict,
frozen versions reload identically, refits are matched, the Workspace runs the whole stage."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pytest

import segmento
from segmento.segmentations import fit, load_model, refit, versions
from segmento.segmentations.assign import assign
from segmento.segmentations.api import sample_frame
from segmento.segmentations.synthetic import FEATURES, planted_features

AS_OF = date(2024, 6, 30)


@pytest.fixture
def kb(tmp_path):
    frame = planted_features(8000, 8, seed=3)
    frame["gender"] = np.resize(np.array(["F", "M", "X", None], dtype=object), len(frame))
    path = tmp_path / "kb.duckdb"
    con = ibis.duckdb.connect(str(path))
    con.create_table("features", frame.drop(columns="truth"))
    yield path, con, frame
    con.disconnect()


def by_customer(table: ibis.Table) -> pd.DataFrame:
    frame = table.to_pandas().set_index("customer_id").sort_index()
    assert frame.index.is_unique and frame.segment_id.notna().all() and frame.segment_label.notna().all()
    return frame


def test_pushed_down_assignment_equals_sklearn_predict(kb):
    _, con, frame = kb
    definition = {"kind": "kmeans", "name": "behaviour", "features": [*FEATURES, "gender"], "categorical": ["gender"],
                  "k": 8, "sample": 3000, "transforms": {"spend_12m": "log", "tenure_days": "log", "age": "none"}}
    model = fit(con, definition, AS_OF, features=con.table("features"))
    assert 2500 <= model.fit_rows <= 3000  # fitted on a sample drawn in the engine
    estimator = model.estimator
    expected = np.asarray(estimator.cluster_ids_)[estimator.kmeans_.predict(estimator.transform(frame))]
    got = by_customer(assign(con, model, con.table("features")))
    assert got.segment_id.tolist() == pd.Series(expected, index=frame.customer_id).sort_index().tolist()
    assert list(got.columns) == ["segmentation", "version", "segment_id", "segment_label", "segment_rank"]
    ranks = {s.id: s.rank for s in model.segments}
    assert (got.segment_rank == got.segment_id.map(ranks)).all()


def test_a_frozen_model_assigns_identically_after_reload(kb):
    path, con, _ = kb
    definition = {"kind": "kmeans", "name": "behaviour", "features": FEATURES, "k": 6}
    model = fit(con, definition, AS_OF, features=con.table("features"))
    before = by_customer(assign(con, model, con.table("features")))
    con.disconnect()
    reopened = ibis.duckdb.connect(str(path))
    try:
        again = load_model(reopened, "behaviour")
        after = by_customer(assign(reopened, again, reopened.table("features")))
        pd.testing.assert_frame_equal(before, after)
        assert again.as_of == AS_OF and again.segments == model.segments and again.version == 1
    finally:
        reopened.disconnect()


def test_a_refit_is_a_new_version_matched_to_the_previous(kb):
    _, con, frame = kb
    definition = {"kind": "kmeans", "name": "behaviour", "features": FEATURES, "k": 8, "sample": 4000}
    first = fit(con, definition, AS_OF, features=con.table("features"))
    drifted = frame.assign(spend_12m=frame.spend_12m * 1.1).drop(columns="truth")
    con.create_table("july", drifted)
    second = refit(con, "behaviour", "2024-07-31", features=con.table("july"))
    assert versions(con, "behaviour") == [1, 2] and load_model(con, "behaviour").version == 2
    assert second.previous_version == 1 and second.match["agreement"] > 0.95 and not second.match["weak"]
    v1 = by_customer(assign(con, load_model(con, "behaviour", 1), con.table("features")))
    v2 = by_customer(assign(con, second, con.table("features")))
    assert (v1.segment_id == v2.segment_id).mean() > 0.95  # ids kept their meaning
    assert set(v2.version) == {2} and set(v1.version) == {1}
    with pytest.raises(LookupError, match="versions: 1, 2"):
        load_model(con, "behaviour", 5)
    with pytest.raises(LookupError, match="fitted: behaviour"):
        load_model(con, "nope")


def test_engine_sample_is_reproducible_and_sized(kb):
    _, con, _ = kb
    a = sample_frame(con.table("features"), FEATURES, 1000, seed=1)
    b = sample_frame(con.table("features"), FEATURES, 1000, seed=1)
    c = sample_frame(con.table("features"), FEATURES, 1000, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 1000 and set(a.customer_id) != set(c.customer_id)


# ---- the whole stage through the Workspace and the features stage ---------------------

PROJECT = """
name: shop
segmentations:
  - name: rfm
    kind: rfm
    language: fr
  - name: value
    kind: tiers
    tiers:
      - {id: very_good, label: Très bons, quantile: 0.8}
      - {id: good, quantile: 0.4}
      - {id: occasional, above: 0}
      - {id: inactive, label: Inactifs}
  - name: behaviour
    kind: kmeans
    features: [spend_12m, orders_12m, recency_days, avg_basket]
    fill: {recency_days: 1000}
    active: orders_lifetime
    k: 3
"""


def test_workspace_fits_assigns_describes_and_judges(tmp_path):
    (tmp_path / "segmento.yaml").write_text(PROJECT)
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(300)], "signup_date": "2022-01-01"})
    orders = []
    for i in range(300):
        for _ in range(int(rng.poisson(i % 5))):
            orders.append({"customer_id": f"C{i}", "amount": round(float(rng.gamma(2, 30 + 20 * (i % 3))), 2),
                           "ordered_at": datetime(2023, 7, 1) + timedelta(days=int(rng.integers(0, 540))),
                           "channel": ["store", "web", "app"][i % 3]})
    orders = pd.DataFrame(orders).assign(order_id=lambda f: [f"O{i}" for i in range(len(f))])
    with segmento.connect(tmp_path / "shop.duckdb", config=tmp_path / "segmento.yaml") as ws:
        ws.ingest("customers", customers)
        ws.ingest("orders", orders)
        for name in ("rfm", "value", "behaviour"):
            model = ws.fit_segmentation(name, AS_OF)
            members = by_customer(ws.segments(name, AS_OF))
            assert len(members) == 300 and set(members.segment_id) <= {s.id for s in model.segments}
            features = ws.features(AS_OF).to_pandas().set_index("customer_id").sort_index()
            assert members.segment_id.tolist() == model.predict(features.reset_index()).tolist()
        portraits = ws.portraits("behaviour", AS_OF)
        assert sum(p.size for p in portraits) == 300 and portraits[-1].segment_id == "inactive"
        report = ws.quality("value", AS_OF)
        assert report.predictive_power is not None and 0 <= report.predictive_power <= 1
        rfm = ws.segmentation_model("rfm")
        assert {s.id: s.label for s in rfm.segments}["loyal"] == "Fidèles"
        never = by_customer(ws.segments("rfm", AS_OF)).loc[[f"C{i}" for i in range(0, 300, 5)]]
        assert set(never.segment_id) == {"no_purchase"}  # i % 5 == 0 never ordered
        assert ws.refit_segmentation("value", "2024-07-31").version == 2
