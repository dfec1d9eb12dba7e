"""Predictive traits used downstream: alert rules on p_alive with CLV at stake, portraits, Markov value."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from dynamics_support import VALUE_TIERS

import segmento
from segmento.config import parse_project
from segmento.demo import generate
from segmento.dynamics.snapshots import backfill
from segmento.errors import NotReadyError

END = date(2024, 8, 31)
FIT = date(2024, 4, 30)
PREDICT = date(2024, 6, 30)
PROJECT = VALUE_TIERS + """dynamics:
  rules:
    - {name: slide, segmentation: value, from: [very_good, good], direction: down}
    - {name: slide-at-risk, segmentation: value, from: [very_good, good], direction: down,
       where: "p_alive < 0.8", value: clv_12m}
    - {name: slide-clv-lost, segmentation: value, from: [very_good, good], direction: down, value: clv_lost,
       min_value: 1}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    data = generate(customers=800, months=20, seed=3, end=END)
    workspace = segmento.connect(tmp_path_factory.mktemp("use") / "shop.duckdb", parse_project(PROJECT))
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        workspace.ingest(name, getattr(data, name))
    workspace.fit_segmentation("value", FIT)
    yield workspace
    workspace.close()


def test_alert_rules_on_p_alive_weigh_clv(ws: segmento.Workspace) -> None:
    with pytest.raises(NotReadyError, match="no predictive model fitted"):
        backfill(ws.con, ws.project, "2024-06", "2024-07", ["value"])
    ws.fit_predictive(PREDICT)
    backfill(ws.con, ws.project, "2024-04", "2024-08", ["value"])
    alerts = ws.alerts().to_pandas()
    alerts["period"] = pd.to_datetime(alerts.period).dt.date
    # before the first fit, rules reading traits raise nothing (a later model would know later orders)
    early = alerts[alerts.period == date(2024, 5, 31)]
    assert set(early.rule) == {"slide"}
    fit_month = alerts[alerts.period == PREDICT]
    assert set(fit_month.rule) == {"slide", "slide-at-risk"}  # clv_lost also needs the model at the month before
    for period in (date(2024, 7, 31), date(2024, 8, 31)):
        plain = alerts[(alerts.rule == "slide") & (alerts.period == period)].set_index("customer_id")
        risky = alerts[(alerts.rule == "slide-at-risk") & (alerts.period == period)].set_index("customer_id")
        lost = alerts[(alerts.rule == "slide-clv-lost") & (alerts.period == period)].set_index("customer_id")
        now = ws.predictive_traits(period, ["p_alive", "clv_12m"]).to_pandas().set_index("customer_id")
        before = ws.predictive_traits(date(period.year, period.month, 1) - pd.Timedelta(days=1),
                                      ["clv_12m"]).to_pandas().set_index("customer_id")  # fmt: skip
        at_risk = [c for c in plain.index if c in now.index and now.p_alive[c] < 0.8]
        assert sorted(risky.index) == sorted(at_risk) and 0 < len(at_risk) < len(plain)
        expected = now.clv_12m.reindex(risky.index).fillna(0.0)
        pd.testing.assert_series_equal(risky.priority, expected, check_names=False, rtol=1e-9)
        drop = (before.clv_12m.reindex(plain.index).fillna(0) - now.clv_12m.reindex(plain.index).fillna(0)).clip(0)
        assert sorted(lost.index) == sorted(drop[drop >= 1].index)
        pd.testing.assert_series_equal(lost.priority.sort_index(), drop[drop >= 1].sort_index(), check_names=False,
                                       rtol=1e-9)  # fmt: skip
        for customer, row in lost.iterrows():  # the reason says what the move cost
            assert f"expected 12-month value lost {drop[customer]:,.0f}" in row.reason
            assert json.loads(row.figures)["clv_lost"] == pytest.approx(drop[customer])


def test_checking_audience_rules_reads_types_without_scoring_anyone(ws: segmento.Workspace) -> None:
    """Rule kinds come from the catalog's declared types, equal to those of the computed features; the
    features' expression as of today (which scores every customer's traits) is never built for them."""
    from segmento.audiences.evaluate import catalog_kinds, feature_kinds, project_features
    from segmento.audiences.service import Audiences

    if not ws.predictive_ready(PREDICT):
        ws.fit_predictive(PREDICT)
    scores = ws.con.con.execute("SELECT count(*) FROM predictive_scores").fetchone()[0]
    Audiences(ws.con, ws.project).define("at-risk", "p_alive < 0.5 AND clv_12m >= 100")
    assert ws.con.con.execute("SELECT count(*) FROM predictive_scores").fetchone()[0] == scores
    assert catalog_kinds(ws.con, ws.project) == feature_kinds(ws.con, project_features(ws.project))
