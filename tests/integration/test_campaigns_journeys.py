"""A journey measured: alerts routed to a campaign hold out a control group; the Markov view of treated vs
control customers (where they were one period after the alert) matches the moves planted here."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from dynamics_support import plant_snapshots
from activation_support import PERIOD, plant_alerts

import segmento
from segmento import formatting as fmt
from segmento.config import parse_project
from segmento.report.campaigns import campaigns as campaigns_section
from segmento.errors import SegmentoError

NEXT = date(2024, 3, 31)
RANKS = {"vip": 1, "good": 2, "occasional": 3}


def test_treated_customers_move_back_up_more_than_their_control_group(tmp_path: Path, monkeypatch):
    from typer.testing import CliRunner

    from segmento.cli import app

    monkeypatch.setenv("SEGMENTO_SECRET", "journey-secret")
    project = parse_project(CONFIG := f"""
destinations:
  - {{name: drops, type: file, path: "{tmp_path / 'drops'}"}}
campaigns:
  - {{id: winback, start: 2024-01-01, alert: vip_slide, journey: win-back, to: drops, control_share: 0.4}}
  - {{id: plain, start: 2024-01-01, segment: {{segmentation: value, segment: good}}, to: drops}}
""", Path("segmento.yaml"))
    rng = random.Random(2)
    with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
        alerts = plant_alerts(ws, 600)
        ws.enqueue_alerts()
        arms = {r["customer_id"]: r["arm"] for r in ws.campaigns.targets("winback").to_pyarrow().to_pylist()}
        later = {c: rng.choices(["vip", "good", "occasional", None],
                                [0.45, 0.4, 0.1, 0.05] if arms[c] == "treated" else [0.2, 0.6, 0.15, 0.05])[0]
                 for c in alerts.customer_id}
        rows = [(PERIOD, c, "good") for c in alerts.customer_id] + [(NEXT, c, s) for c, s in later.items() if s]
        snaps = pd.DataFrame(rows, columns=["period", "customer_id", "segment_id"])
        snaps = snaps.assign(segmentation="value", version=1, segment_label=snaps.segment_id.str.title(),
                             segment_rank=snaps.segment_id.map(RANKS), value=0.0)
        plant_snapshots(ws.con, snaps)
        moves = ws.campaigns.journey_moves("winback")
        with pytest.raises(SegmentoError, match="not an alert rule"):
            ws.campaigns.journey_moves("plain")
        results = ws.campaigns.results("winback")
        section = campaigns_section(ws, "value")  # the report's and the dashboard's Campaigns view
        (tmp_path / "segmento.yaml").write_text(CONFIG)
        printed = CliRunner().invoke(app, ["campaign", "moves", "winback", "--db", str(tmp_path / "shop.duckdb"),
                                           "--config", str(tmp_path / "segmento.yaml")], env={"COLUMNS": "200"})
    assert printed.exit_code == 0, printed.output
    assert f"moved back up: {100 * moves.moved_up.treated:.1f}% of treated" in printed.output
    planted = pd.DataFrame({"arm": arms, "now": {c: s.title() if s else "(exit)" for c, s in later.items()}})
    expected = pd.crosstab(planted.arm, planted.now)
    assert moves.counts.loc[expected.index, expected.columns].equals(expected)
    assert list(moves.probabilities.columns) == ["Vip", "Good", "Occasional", "(exit)"]  # best first, exits last
    shares = expected.div(expected.sum(axis=1), axis=0)
    pd.testing.assert_frame_equal(moves.probabilities.loc[shares.index, shares.columns], shares, check_names=False)
    up = planted.now == "Vip"
    assert moves.moved_up.treated == pytest.approx(up[planted.arm == "treated"].mean())
    assert moves.moved_up.control == pytest.approx(up[planted.arm == "control"].mean())
    assert moves.moved_up.verdict == "significant uplift"
    journey = next(t for t in section.tables if t.caption.startswith("winback: segment of value 1 period(s) after"))
    assert journey.columns == ["group", "customers", "Vip", "Good", "Occasional", "(exit)"]
    for row in journey.rows:
        assert row[1] == fmt.count(len(planted[planted.arm == row[0]]))
        assert row[2:] == [fmt.percent(shares.loc[row[0], c]) if c in shares.columns else fmt.percent(0.0)
                           for c in journey.columns[2:]]
    assert "moved back up" in journey.caption and "significant uplift" in journey.caption
    assert (results.total.treated, results.total.control) == ((planted.arm == "treated").sum(),
                                                              (planted.arm == "control").sum())
