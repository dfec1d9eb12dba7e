"""Alert rules on the probability of being alive: `trigger: condition` with `where: p_alive < x`
fires once, the period p_alive falls under x for a customer of the `from` segments, never for
periods the fitted model could not know. Checked against the stored snapshots and the traits
read period by period."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

import segmento
from segmento.config import parse_project
from segmento.demo import generate
from segmento.errors import NotReadyError

END = date(2024, 8, 31)
FIT = date(2024, 4, 30)
PREDICT = date(2024, 5, 31)
THRESHOLD = 0.5
PROJECT = f"""
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {{id: very_good, quantile: 0.75}}
      - {{id: good, quantile: 0.35}}
      - {{id: occasional, above: 0}}
      - {{id: inactive}}
dynamics:
  rules:
    - {{name: fading, segmentation: value, from: [very_good, good], trigger: condition,
       where: "p_alive < {THRESHOLD}", journey: win-back}}
"""
PERIODS = [date(2024, 4, 30), date(2024, 5, 31), date(2024, 6, 30), date(2024, 7, 31), date(2024, 8, 31)]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    data = generate(customers=900, months=20, seed=11, end=END)
    workspace = segmento.connect(tmp_path_factory.mktemp("p-alive") / "shop.duckdb", parse_project(PROJECT))
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        workspace.ingest(name, getattr(data, name))
    workspace.fit_segmentation("value", FIT)
    yield workspace
    workspace.close()


def members(ws: segmento.Workspace, period: date) -> set[str]:
    table = ws.table("segment_snapshots").to_pandas()
    table["period"] = pd.to_datetime(table.period).dt.date
    now = table[(table.segmentation == "value") & (table.period == period)]
    return set(now[now.segment_id.isin(["very_good", "good"])].customer_id)


def test_a_rule_fires_the_period_p_alive_falls_under_its_threshold(ws: segmento.Workspace) -> None:
    with pytest.raises(NotReadyError, match="no predictive model fitted"):
        ws.backfill("2024-04", "2024-05")
    ws.fit_predictive(PREDICT)
    ws.backfill("2024-04", "2024-08")
    alerts = ws.alerts(rule="fading").to_pandas()
    alerts["period"] = pd.to_datetime(alerts.period).dt.date
    # the model fitted as of May 31 knows nothing of April: no alert in May (it compares with April) or before
    assert set(alerts.period) <= set(PERIODS[2:])
    fired = 0
    for before, now in zip(PERIODS[1:], PERIODS[2:]):
        then = ws.predictive_traits(before, ["p_alive"]).to_pandas().set_index("customer_id").p_alive
        later = ws.predictive_traits(now, ["p_alive"]).to_pandas().set_index("customer_id").p_alive
        crossed = {c for c in members(ws, before)
                   if later.get(c, 1.0) < THRESHOLD and not then.get(c, 1.0) < THRESHOLD}
        got = alerts[alerts.period == now].set_index("customer_id")
        assert set(got.index) == crossed
        for customer in crossed:  # the reason names the figure that moved, from what to what
            assert f"p_alive {then[customer]:.2f} -> {later[customer]:.2f}" in got.reason[customer]
        fired += len(crossed)
    assert fired > 0
