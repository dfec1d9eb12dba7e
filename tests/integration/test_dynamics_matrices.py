"""Transition matrices, trajectories and the Markov view against pandas/numpy oracles."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from dynamics_support import plant_snapshots

import segmento
from segmento.dynamics.markov import fit_markov
from segmento.dynamics.store import EXIT, NEW
from segmento.dynamics.trajectories import trajectories
from segmento.dynamics.transitions import transition_matrix

PERIODS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
SEGMENTS = {"A": 1, "B": 2, "C": 3}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """Random memberships over four periods, with entries and exits, plus orders between periods."""
    rng = np.random.default_rng(7)
    customers = [f"C{i}" for i in range(400)]
    rows = []
    for period_index, period in enumerate(PERIODS):
        for i, customer in enumerate(customers):
            joins_at = i % 5  # customers 4, 9, ... join in the last period only
            if joins_at > period_index + 1 or (i % 17 == 0 and period_index == 3):  # some exit at the end
                continue
            segment = rng.choice(list(SEGMENTS), p=[0.2, 0.3, 0.5])
            rows.append((period, "value", 1, customer, segment, segment, SEGMENTS[segment], 0.0))
    snaps = pd.DataFrame(rows, columns=["period", "segmentation", "version", "customer_id", "segment_id",
                                        "segment_label", "segment_rank", "value"])
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(1000)],
            "customer_id": rng.choice(customers, 1000),
            "ordered_at": [datetime(2024, 1, 1) + pd.Timedelta(minutes=int(m)) for m in rng.integers(0, 175_000, 1000)],
            "amount": rng.gamma(2.0, 20.0, 1000).round(2),
            "channel": "web",
        }
    )
    ws = segmento.connect(tmp_path_factory.mktemp("dyn") / "shop.duckdb")
    ws.ingest("customers", pd.DataFrame({"customer_id": customers, "signup_date": "2023-01-01"}))
    ws.ingest("orders", orders)
    plant_snapshots(ws.con, snaps)
    yield ws, snaps, orders
    ws.close()


def oracle_paths(snaps: pd.DataFrame) -> tuple[str, int, int]:
    """The most frequent changed path over every period (labels, 'new'/'lost' named, repeats merged), its count,
    and the customers who kept one segment throughout, by walking each customer's periods."""
    held = {(r.customer_id, r.period): r.segment_label for r in snaps.itertuples()}
    changed, steady = Counter(), 0
    for customer in snaps.customer_id.unique():
        walk, seen = [], False
        for period in PERIODS:
            seen = seen or (customer, period) in held
            step = held.get((customer, period), "lost (left the base)" if seen else "new customers")
            walk += [step] if not walk or walk[-1] != step else []
        if len(walk) > 1:
            changed[" → ".join(walk)] += 1
        else:
            steady += 1
    (path, count), = changed.most_common(1)
    return path, count, steady


def oracle_counts(snaps: pd.DataFrame, before: date, after: date) -> pd.DataFrame:
    a = snaps[snaps.period == before].set_index("customer_id").segment_id
    b = snaps[snaps.period == after].set_index("customer_id").segment_id
    joined = pd.concat([a.rename("from"), b.rename("to")], axis=1).fillna({"from": NEW, "to": EXIT})
    return pd.crosstab(joined["from"], joined["to"])


@pytest.mark.parametrize(("before", "after"), [(PERIODS[0], PERIODS[1]), (PERIODS[2], PERIODS[3]), (PERIODS[0], PERIODS[3])])
def test_counts_equal_a_pandas_crosstab(planted, before, after):
    ws, snaps, orders = planted
    matrix = transition_matrix(ws.con, "value", before, after)
    expected = oracle_counts(snaps, before, after)
    assert list(matrix.counts.index) == [NEW, "A", "B", "C"]
    assert list(matrix.counts.columns) == ["A", "B", "C", EXIT]
    for row in matrix.counts.index:
        for column in matrix.counts.columns:
            want = expected.at[row, column] if row in expected.index and column in expected.columns else 0
            assert matrix.counts.at[row, column] == want, (row, column)
    assert np.allclose(matrix.row_percent.loc[["A", "B", "C"]].sum(axis=1), 100.0)


def test_revenue_is_next_period_spend_of_each_cell(planted):
    ws, snaps, orders = planted
    before, after = PERIODS[1], PERIODS[2]
    matrix = transition_matrix(ws.con, "value", before, after)
    window = orders[(orders.ordered_at > pd.Timestamp(before) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))
                    & (orders.ordered_at <= pd.Timestamp(after) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1))]
    spend = window.groupby("customer_id").amount.sum()
    a = snaps[snaps.period == before].set_index("customer_id").segment_id
    b = snaps[snaps.period == after].set_index("customer_id").segment_id
    joined = pd.concat([a.rename("from"), b.rename("to")], axis=1).fillna({"from": NEW, "to": EXIT})
    joined["revenue"] = spend.reindex(joined.index).fillna(0.0)
    expected = joined.groupby(["from", "to"]).revenue.sum()
    for (row, column), value in expected.items():
        assert matrix.revenue.at[row, column] == pytest.approx(value)


def test_missing_period_is_a_clear_error(planted):
    ws, _, _ = planted
    with pytest.raises(ValueError, match=r"no snapshot of 'value' at 2023-12-31; taken periods: 2024-01-31, 2024-02-29"):
        transition_matrix(ws.con, "value", date(2023, 12, 31), PERIODS[0])


def test_trajectories_and_sankey(planted):
    ws, snaps, _ = planted
    result = trajectories(ws.con, "value", PERIODS)
    wide = snaps.pivot(index="customer_id", columns="period", values="segment_label").reindex(columns=PERIODS).fillna("-")
    expected_paths = wide.apply(lambda r: " -> ".join(r), axis=1)
    got = result.paths.set_index("customer_id").path
    assert got.sort_index().equals(expected_paths.sort_index())
    assert result.top_paths(3).customers.tolist() == expected_paths.value_counts().head(3).tolist()
    sankey = result.sankey()
    first_link_total = sum(v for s, v in zip(sankey["source"], sankey["value"]) if sankey["nodes"][s].startswith("2024-01-31"))
    assert first_link_total == len(wide)
    distinct = wide.value_counts().sort_index()  # every distinct path and its customers, by pandas
    counted = result.counts().set_index([p.isoformat() for p in PERIODS]).customers
    assert counted.tolist() == distinct.tolist() and list(counted.index) == list(distinct.index)
    pairs = wide.groupby([PERIODS[1], PERIODS[2]]).size()
    assert dict(result.pairs(*(p.isoformat() for p in PERIODS[1:3])).set_index(["2024-02-29", "2024-03-31"]).customers) == dict(pairs)
    assert result.customers == len(wide)


def oracle_revenue_per_period(snaps: pd.DataFrame, orders: pd.DataFrame, states: list[str]) -> np.ndarray:
    """Mean revenue, over the next period, of a customer in each state (orders after the period's last day)."""
    earned, held = dict.fromkeys(states, 0.0), dict.fromkeys(states, 0)
    for before, after in zip(PERIODS, PERIODS[1:]):
        start, end = pd.Timestamp(before) + pd.Timedelta(days=1), pd.Timestamp(after) + pd.Timedelta(days=1)
        spent = orders[(orders.ordered_at >= start) & (orders.ordered_at < end)].groupby("customer_id").amount.sum()
        for customer, segment in snaps[snaps.period == before].set_index("customer_id").segment_id.items():
            earned[segment] += spent.get(customer, 0.0)
            held[segment] += 1
    return np.array([earned[s] / held[s] if held[s] else 0.0 for s in states])


def test_markov_forecast_matches_numpy_powers(planted):
    ws, snaps, orders = planted
    model = fit_markov(ws.con, "value", window=3)
    counts = sum(oracle_counts(snaps, a, b).drop(index=NEW, errors="ignore").reindex(
        index=model.states, columns=model.states, fill_value=0) for a, b in zip(PERIODS, PERIODS[1:]))
    counts = counts.to_numpy(dtype=float).copy()
    counts[model.states.index(EXIT), model.states.index(EXIT)] = 1.0
    P = counts / counts.sum(axis=1, keepdims=True)
    assert np.allclose(model.P, P)
    mix = snaps[snaps.period == PERIODS[-1]].segment_id.value_counts(normalize=True)
    mix = mix.reindex(model.states, fill_value=0.0).to_numpy()
    assert np.allclose(model.current_mix, mix)
    forecast = model.forecast(6)
    assert np.allclose(forecast.iloc[6].to_numpy(), mix @ np.linalg.matrix_power(P, 6))
    assert np.allclose(forecast.sum(axis=1), 1.0)
    revenue = oracle_revenue_per_period(snaps, orders, model.states)
    assert np.allclose(model.revenue_per_period, revenue) and revenue.max() > 0
    value = model.expected_value(horizon=12, discount_rate=0.01)
    brute = sum(np.linalg.matrix_power(P / 1.01, t) @ revenue for t in range(1, 13))
    assert np.allclose(value.to_numpy(), brute)
    stationary = model.stationary()
    assert np.allclose(stationary.to_numpy() @ P, stationary.to_numpy())


def test_alerts_match_the_rule_and_are_raised_once(planted):
    from segmento.dynamics.settings import TrajectoryRule
    from segmento.dynamics.alerts import list_alerts, raise_alerts

    ws, snaps, _ = planted
    rules = [
        TrajectoryRule.model_validate({"name": "slide", "segmentation": "value", "from": ["A"], "direction": "down",
                                       "journey": "win-back"}),
        TrajectoryRule.model_validate({"name": "upgrade", "segmentation": "value", "from": ["C"], "to": ["B", "A"],
                                       "kind": "positive"}),
    ]
    before, after = PERIODS[2], PERIODS[3]
    a = snaps[snaps.period == before].set_index("customer_id").segment_id
    b = snaps[snaps.period == after].set_index("customer_id").segment_id.reindex(a.index).fillna(EXIT)
    expected_slide = set(a[(a == "A") & (b != "A")].index)  # from the top, every move is down (exit included)
    expected_up = set(a[(a == "C") & b.isin(["A", "B"])].index)

    created = raise_alerts(ws.con, rules, before, after)
    assert created == len(expected_slide) + len(expected_up)
    stored = list_alerts(ws.con, period=after).to_pandas()
    assert set(stored[stored.rule == "slide"].customer_id) == expected_slide
    assert set(stored[stored.rule == "upgrade"].customer_id) == expected_up
    assert (stored[stored.rule == "slide"].journey == "win-back").all()
    assert stored.alert_id.is_unique

    assert raise_alerts(ws.con, rules, before, after) == 0
    assert list_alerts(ws.con).count().execute() == len(stored)
    assert list_alerts(ws.con, kind="positive").count().execute() == len(expected_up)


def test_cli_prints_matrices_paths_markov_and_alerts(planted):
    from typer.testing import CliRunner

    from segmento.cli import app

    ws, snaps, _ = planted
    db = ws.con.con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    counts = oracle_counts(snaps, PERIODS[0], PERIODS[1])
    out = run("transitions", "value", "--from", "2024-01", "--to", "2024-02")
    assert "value: 2024-01-31 -> 2024-02-29" in out
    assert f"{counts.at['A', 'A']:,}" in out.splitlines()[[i for i, l in enumerate(out.splitlines()) if "│ A " in l][0]]
    assert '"rows"' in run("transitions", "value", "--from", "2024-01", "--to", "2024-02", "--json")
    paths = run("trajectories", "value", "--last", "4", "--top", "200")
    top_path, top_count, steady = oracle_paths(snaps)
    assert f"{steady:,} customers" in paths and "kept one segment throughout" in paths
    assert re.search(rf"│ {re.escape(top_path)} +│ +{top_count} │", paths), paths
    listed = re.findall(r"^│ (\S.*?) +│ +[\d,]+ │$", paths, re.M)
    assert listed and all("→" in path for path in listed)  # changed paths only
    assert "segment mix forecast" in run("markov", "value", "--steps", "3")
    from segmento.dynamics.alerts import raise_alerts
    from segmento.dynamics.settings import TrajectoryRule

    rule = TrajectoryRule.model_validate({"name": "any-move", "segmentation": "value", "direction": "down"})
    raise_alerts(ws.con, [rule], PERIODS[0], PERIODS[1])
    raise_alerts(ws.con, [rule], PERIODS[1], PERIODS[2])
    total, periods = ws.con.con.execute("select count(*), count(distinct period) from alerts").fetchone()
    assert total > 1 and f"1 of {total:,} alerts" in run("alerts", "--limit", "1")  # the real total, not the limit
    narrow = runner.invoke(app, ["alerts", "--limit", "3", "--db", db], env={"COLUMNS": "80"}).output
    assert narrow.splitlines()[0] == f"3 of {total:,} alerts, latest period first"  # one alert per record, no table
    records = r"^\d{4}-\d{2}-\d{2}  C\d+  [\w-]+ \((negative|positive|high_stakes)(, [\w-]+)?\), [\d,]+ at stake$"
    assert len(re.findall(records, narrow, re.M)) == 3  # other tests of the module raise alerts of their rules too
    assert all(len(line) <= 80 for line in narrow.splitlines())
    listed = run("alerts", "--limit", str(total + 5))
    assert f"{total:,} alerts" in listed.splitlines()[0]
    table, totals = listed.split("totals per period, kind and rule")
    shown = re.findall(r"^│ (\d{4}-\d{2}-\d{2}) ", table, re.M)
    assert len(shown) == total and periods >= 2 and shown == sorted(shown, reverse=True)  # latest period first
    assert sorted(set(re.findall(r"^│ (\d{4}-\d{2}-\d{2}) +│", totals, re.M))) == sorted(set(shown))  # dates
    bad = runner.invoke(app, ["transitions", "value", "--from", "2022-01", "--to", "2024-02", "--db", db])
    assert bad.exit_code == 2 and "no snapshot of 'value' at 2022-01-31" in bad.output
