"""Predictive traits in the service: the customer 360 (API), the dashboard's Predictive page and the report."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, time

import pytest
from service_support import END, Api, close

import segmento
from segmento.report import build_report
from segmento.service.app import create_app
from segmento.service.live_features import FeatureSQL

TRAITS = ("p_alive", "expected_orders_90d", "expected_orders_365d", "expected_avg_order_value", "clv_12m")


@pytest.fixture(scope="module")
def fitted(base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[segmento.Workspace]:
    path = base.copy(tmp_path_factory.mktemp("predictive-service"))
    with segmento.connect(path, base.project) as ws:
        ws.fit_predictive(END)
        yield ws


@pytest.fixture(scope="module")
def api(fitted: segmento.Workspace, base) -> Iterator[Api]:
    client = Api(create_app(fitted, as_of=END, refresh_seconds=0.2))
    client.wait_for_read_model()
    yield client.as_(base.keys["read"])
    client.close()


# First in the module: the report is built on a workspace no running service shares (the service
# fixture below keeps a worker on its workspace until the module ends).
def test_report_has_the_predictive_section(fitted: segmento.Workspace, tmp_path) -> None:
    html = build_report(fitted, tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="predictive"' in html and "predicted vs actual in the holdout" in html
    assert re.search(r"repeat purchases in the holdout: fit on orders up to 2024-0[67]-\d\d", html)


def test_customer_360_carries_the_traits(api: Api, fitted: segmento.Workspace) -> None:
    expected = fitted.predictive_traits(END).to_pandas().set_index("customer_id")
    buyer = expected.index[0]
    for params in ({}, {"fresh": True}):  # the read model, and a live read through the compiled features query
        body = api.get(f"/api/customers/{buyer}", params=params).json()
        for name in TRAITS:
            assert body["features"][name] == pytest.approx(expected.loc[buyer, name], rel=1e-12), name


def test_one_customers_live_traits_are_the_batch_traits_with_two_model_versions(base, tmp_path) -> None:
    """A live read passes the local engine the scores of the customer's purchase history alone, of every
    model version: each customer's traits must still be the latest version's, as the whole base gives them."""
    with segmento.connect(base.copy(tmp_path), base.project) as ws:
        ws.fit_predictive(END)
        ws.predictive_traits(END).to_pyarrow()  # the first version's scores stored
        ws.fit_predictive(END)
        at = datetime.combine(END, time.max)
        compiled = FeatureSQL(ws, at)
        batch = {r["customer_id"]: r for r in ws.features(at).to_pyarrow().to_pylist()}
        versions = ws.con.table("predictive_scores").version.nunique().to_pyarrow().as_py()
        assert versions == 2 and sum(batch[c]["p_alive"] is not None for c in base.customers) > 100
        for customer in [*base.customers, "C-not-a-customer"]:
            found = compiled.one(ws, customer).to_pylist()
            assert close(found, [batch[customer]] if customer in batch else []), customer


def test_dashboard_predictive_page(api: Api, fitted: segmento.Workspace) -> None:
    page = api.get("/dashboard/predictive")
    assert page.status_code == 200
    html = page.text
    assert "Predictive traits" in html and "predicted vs actual in the holdout" in html
    report = fitted.predictive_report(END)
    total = report.table.iloc[-1]
    assert f"{total.actual:,.0f}" in html and f"{total.predicted:,.1f}" in html
    for label in ("0", "1", "7+", "total"):
        assert f"<td>{label}</td>" in html
    assert "expected 12-month value per segment" in html
    assert 'href="/dashboard/predictive"' in html
