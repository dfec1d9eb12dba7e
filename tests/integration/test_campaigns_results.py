"""Campaign results by segment on planted data: every count against a pandas reading of what was
planted, the intervals against formulas and a bootstrap written here, the verdicts as planted."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from dynamics_support import plant_snapshots

import segmento
from segmento.config import parse_project

SEND = datetime(2024, 3, 5, 10, 0)
PERIOD = date(2024, 2, 29)
# segment -> (conversion chance if treated, if control): an effect in 'big', none in 'small'
PLANTED = {"big": (0.32, 0.18), "small": (0.12, 0.12)}


def project(drops: Path) -> segmento.config.Project:
    return parse_project(f"""
destinations:
  - {{name: drops, type: file, path: "{drops}"}}
audiences:
  - {{name: everyone, rule: "country = 'FR'"}}
campaigns:
  - {{id: spring, start: 2024-03-01, audience: everyone, to: drops, control_share: 0.3, attribution_days: 10,
     offer: discount}}
""", Path("segmento.yaml"))


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    """3,000 customers in two segments, launched on, then orders and events planted per group."""
    root = tmp_path_factory.mktemp("results")
    mp = pytest.MonkeyPatch()
    mp.setenv("SEGMENTO_SECRET", "results-secret")
    rng = random.Random(7)
    ids = [f"C{i:05d}" for i in range(3000)]
    segment = {c: "big" if i % 2 else "small" for i, c in enumerate(ids)}
    ws = segmento.connect(root / "shop.duckdb", project(root / "drops"))
    ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01", "country": "FR"}))
    snaps = pd.DataFrame({"period": PERIOD, "segmentation": "value", "version": 1, "customer_id": ids,
                          "segment_id": [segment[c] for c in ids],
                          "segment_label": [segment[c].title() for c in ids],
                          "segment_rank": [1 if segment[c] == "big" else 2 for c in ids], "value": 0.0})
    plant_snapshots(ws.con, snaps)
    ws.campaigns.launch("spring", at=SEND)
    ws.deliver(until="settled")
    arms = {r["customer_id"]: r["arm"] for r in ws.campaigns.targets("spring").to_pyarrow().to_pylist()}
    orders, events = [], []
    for c in ids:
        p_treated, p_control = PLANTED[segment[c]]
        if rng.random() < (p_treated if arms[c] == "treated" else p_control):
            for _ in range(rng.choice([1, 1, 2])):
                orders.append((c, SEND + timedelta(days=rng.uniform(0.01, 9.9)), round(rng.lognormvariate(3.5, 0.8), 2)))
        if rng.random() < 0.3:  # outside the window: before the send, or after it closes
            orders.append((c, SEND + rng.choice([timedelta(hours=-2), timedelta(days=10, hours=1)]), 50.0))
        if arms[c] == "treated" and rng.random() < 0.4:
            events.append((c, SEND + timedelta(hours=rng.uniform(1, 30)), "email_open", "spring"))
            if rng.random() < 0.5:
                events.append((c, SEND + timedelta(hours=31), "campaign_response", "spring"))
        if rng.random() < 0.2:  # another campaign's response counts for nothing here
            events.append((c, SEND + timedelta(hours=5), "campaign_response", "other"))
    ws.ingest("orders", pd.DataFrame({"order_id": [f"O{i}" for i in range(len(orders))],
                                      "customer_id": [o[0] for o in orders], "ordered_at": [o[1] for o in orders],
                                      "amount": [o[2] for o in orders], "channel": "web"}))
    ws.ingest("events", pd.DataFrame({"event_id": [f"E{i}" for i in range(len(events))],
                                      "customer_id": [e[0] for e in events], "occurred_at": [e[1] for e in events],
                                      "type": [e[2] for e in events], "channel": "email",
                                      "campaign_id": [e[3] for e in events]}))
    yield ws, segment, arms, pd.DataFrame(orders, columns=["customer_id", "when", "amount"]), \
        pd.DataFrame(events, columns=["customer_id", "when", "type", "campaign_id"])
    ws.close()
    mp.undo()


def oracle(segment, arms, orders, events, wanted: str | None) -> dict[str, dict]:
    """Per arm, straight from the planted rows: customers, converters, revenue per customer, responders."""
    window = orders[(orders.when > SEND) & (orders.when <= SEND + timedelta(days=10))]
    revenue = window.groupby("customer_id").amount.sum()
    responded = set(events.customer_id[(events.type == "campaign_response") & (events.campaign_id == "spring")])
    out = {}
    for arm in ("treated", "control"):
        people = [c for c, a in arms.items() if a == arm and (wanted is None or segment[c] == wanted)]
        out[arm] = {"n": len(people), "converted": sum(c in revenue.index for c in people),
                    "revenue": np.array([revenue.get(c, 0.0) for c in people]),
                    "responded": sum(c in responded for c in people)}
    return out


def wald(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    p1, p0 = x1 / n1, x0 / n0
    half = NormalDist().inv_cdf(0.975) * ((p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) ** 0.5)
    return p1 - p0 - half, p1 - p0 + half


def plain_bootstrap(a: np.ndarray, b: np.ndarray, rounds: int = 4000) -> tuple[float, float]:
    rng = np.random.default_rng(99)
    diffs = [rng.choice(a, len(a)).mean() - rng.choice(b, len(b)).mean() for _ in range(rounds)]
    return float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))


def test_results_by_segment_match_the_planted_rows_and_the_verdicts(planted):
    ws, segment, arms, orders, events = planted
    results = ws.campaigns.results("spring", "value")
    assert [g.segment for g in results.segments] == ["big", "small"]  # best segment first
    for group in (results.total, *results.segments):
        truth = oracle(segment, arms, orders, events, None if group.segment == "(all)" else group.segment)
        t, c = truth["treated"], truth["control"]
        assert (group.treated, group.control) == (t["n"], c["n"])
        assert group.reached == t["n"]  # every treated message was delivered to the drop folder
        assert group.converted == (t["converted"], c["converted"])
        assert group.responded == (t["responded"], c["responded"]) and c["responded"] == 0
        assert group.revenue.treated == pytest.approx(t["revenue"].mean())
        assert group.revenue.control == pytest.approx(c["revenue"].mean())
        low, high = wald(t["converted"], t["n"], c["converted"], c["n"])
        assert (group.conversion.difference_low, group.conversion.difference_high) == (pytest.approx(low),
                                                                                       pytest.approx(high))
        ratio = (t["converted"] / t["n"]) / (c["converted"] / c["n"])
        assert group.conversion.ratio == pytest.approx(ratio)
        assert group.conversion.ratio_low < ratio < group.conversion.ratio_high
        low, high = plain_bootstrap(t["revenue"], c["revenue"])
        width = high - low
        assert abs(group.revenue.difference_low - low) < 0.1 * width
        assert abs(group.revenue.difference_high - high) < 0.1 * width
    big, small = results.segments
    assert big.conversion.verdict == "significant uplift" and big.conversion.difference_low > 0
    assert small.conversion.verdict == "not significant"
    assert big.response.verdict == "significant uplift"  # only the treated can respond to a message
    frame = results.frame()
    assert list(frame.segment) == ["(all)", "big", "small"] and frame.conversion_verdict.iloc[2] == "not significant"


def test_results_need_a_snapshot_and_say_so(planted):
    ws = planted[0]
    with pytest.raises(segmento.errors.NotReadyError, match="segmento snapshot"):
        ws.campaigns.results("spring", "rfm")
    total = ws.campaigns.results("spring")
    assert total.segments == [] and total.total.treated + total.total.control == 3000


def test_the_cli_prints_the_results_by_segment(planted, tmp_path: Path):
    from typer.testing import CliRunner

    from segmento.cli import app

    ws = planted[0]
    db = ws.con.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    config = tmp_path / "segmento.yaml"
    config.write_text(f"""
destinations:
  - {{name: drops, type: file, path: "{tmp_path}"}}
audiences:
  - {{name: everyone, rule: "country = 'FR'"}}
campaigns:
  - {{id: spring, start: 2024-03-01, audience: everyone, to: drops, control_share: 0.3, attribution_days: 10}}
""")
    result = CliRunner().invoke(app, ["campaign", "results", "spring", "-s", "value", "--db", db,
                                      "--config", str(config)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    expected = ws.campaigns.results("spring", "value")
    assert set(lines) == {"all targets", "Big", "Small"}
    assert "significant uplift" in lines["Big"] and "not significant" in lines["Small"]
    for group in (expected.total, *expected.segments):
        assert f"{group.treated:,} / {group.control:,}" in lines[group.label]
