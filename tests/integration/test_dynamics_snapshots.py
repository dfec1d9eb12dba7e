"""Snapshots and backfill on generated data: point in time, atomic re-runs, planted drifts visible."""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from dynamics_support import VALUE_TIERS

import segmento
from segmento.config import parse_project
from segmento.demo import generate
from segmento.dynamics.snapshots import backfill, take_snapshot
from segmento.dynamics.store import snapshots

END = date(2024, 8, 31)
CUT = date(2024, 4, 30)
PROJECT = VALUE_TIERS + """  - name: recent
    kind: tiers
    feature: spend_90d
    tiers:
      - {id: high, quantile: 0.7}
      - {id: medium, quantile: 0.3}
      - {id: low, above: 0}
      - {id: none}
dynamics:
  rules:
    - {name: slide, segmentation: value, from: [very_good, good], direction: down, journey: win-back}
"""
TIME_COLUMN = {"orders": "ordered_at", "events": "occurred_at", "consents": "recorded_at"}


@pytest.fixture(scope="module")
def data():
    return generate(customers=800, months=20, seed=3, end=END)


def until(data, cut: date) -> dict[str, pa.Table]:
    """The generated base as it stood at the end of ``cut``."""
    limit = pa.scalar(datetime.combine(cut, time.max), pa.timestamp("us"))
    tables = {"customers": data.customers.filter(pc.less_equal(data.customers["signup_date"], pa.scalar(cut)))}
    for name, column in TIME_COLUMN.items():
        tables[name] = getattr(data, name).filter(pc.less_equal(getattr(data, name)[column], limit))
    tables["order_lines"] = data.order_lines.filter(pc.is_in(data.order_lines["order_id"], tables["orders"]["order_id"]))
    return tables


def load(ws, tables: dict[str, pa.Table]) -> None:
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        report = ws.ingest(name, tables[name])
        assert report.rejected == 0, report


def period_rows(ws, period: date, segmentation: str = "value") -> pd.DataFrame:
    table = snapshots(ws.con)
    rows = table.filter((table.period == period) & (table.segmentation == segmentation)).to_pandas()
    return rows.sort_values("customer_id").reset_index(drop=True)


def test_backfilled_period_equals_the_snapshot_taken_then(tmp_path, data):
    project = parse_project(PROJECT)
    with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
        load(ws, until(data, CUT))
        ws.fit_segmentation("value", CUT)
        taken_then = take_snapshot(ws.con, project, CUT, ["value"])
        then = period_rows(ws, CUT)
        assert taken_then.customers["value"] == len(then) > 0

        full = {name: getattr(data, name) for name in ("customers", "orders", "order_lines", "events", "consents")}
        load(ws, full)  # later data arrives; re-ingesting the earlier rows changes nothing
        reports = backfill(ws.con, project, "2024-01", "2024-08", ["value"])
        assert [r.period for r in reports][0] == date(2024, 1, 31) and reports[-1].period == END
        again = period_rows(ws, CUT)
        pd.testing.assert_frame_equal(then, again)

        # a re-run replaces the period: same rows, no duplicates
        take_snapshot(ws.con, project, CUT, ["value"])
        pd.testing.assert_frame_equal(period_rows(ws, CUT), then)
        # every customer signed up by a period is in exactly one segment
        june = period_rows(ws, date(2024, 6, 30))
        signed_up = pc.sum(pc.less_equal(data.customers["signup_date"], pa.scalar(date(2024, 6, 30)))).as_py()
        assert june.customer_id.is_unique and len(june) == signed_up
        # alerts: each a real downward move from the top tiers, raised once per period
        alerts = ws.alerts().to_pandas()
        assert len(alerts) > 0 and alerts.alert_id.is_unique
        assert set(alerts.from_segment) <= {"very_good", "good"}
        assert sum(r.alerts for r in reports) == len(alerts)


def test_planted_drifts_show_up_in_the_matrix(tmp_path, data):
    project = parse_project(PROJECT)
    with segmento.connect(tmp_path / "drift.duckdb", project) as ws:
        load(ws, {name: getattr(data, name) for name in ("customers", "orders", "order_lines", "events", "consents")})
        ws.fit_segmentation("recent", END)
        first, last, declined_by = date(2024, 2, 29), END, date(2024, 5, 31)
        backfill(ws.con, project, first, last, names=["recent"])
        truth = data.truth.to_pandas()
        persona = truth.pivot(index="customer_id", columns="month", values="persona")
        start, finish = persona[first], persona[declined_by]
        valuable = start.isin(["loyal_high_value", "regular"])
        declined = valuable & finish.isin(["lapsing", "churned"])
        stayed = valuable & (finish == start)

        matrix = ws.transitions("recent", first, last)
        pairs = period_rows(ws, first, "recent").set_index("customer_id").segment_rank.to_frame("before").join(
            period_rows(ws, last, "recent").set_index("customer_id").segment_rank.rename("after"))
        went_down = pairs.after > pairs.before
        down_declined = went_down.reindex(declined[declined].index).mean()
        down_stayed = went_down.reindex(stayed[stayed].index).mean()
        assert declined.sum() >= 10 and stayed.sum() >= 10
        assert down_declined > down_stayed + 0.25, (down_declined, down_stayed)
        assert matrix.counts.loc["high"].sum() > 0 and matrix.counts.loc["(new)"].sum() > 0
