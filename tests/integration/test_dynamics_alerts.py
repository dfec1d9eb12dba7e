"""Alerts a marketer can act on, on a generated base, each checked against a pandas reading
of the same orders and snapshots: rules that fire on real change (relative drop,
persistence, silence against the customer's own rhythm), reasons with the figures that
moved, incomplete windows and stale data flagged, history not sent to journeys."""

from __future__ import annotations

import json
import re
from datetime import date

import pandas as pd
import pytest
from dynamics_support import VALUE_TIERS, features_by_hand

import segmento
from segmento.activation.outbox import outbox as activation_outbox
from segmento.config import parse_project
from segmento.demo import generate
from segmento.dynamics.store import snapshots
from segmento.errors import NotReadyError

END = date(2024, 8, 31)
PROJECT = VALUE_TIERS + """dynamics:
  rules:
    - {name: drop, segmentation: value, from: [very_good, good], direction: down, min_change: 0.3, journey: win-back}
    - {name: stays-down, segmentation: value, from: [very_good], direction: down, persist: 2}
    - {name: overdue, segmentation: value, from: [very_good, good], trigger: condition, overdue: 2, journey: win-back}
destinations:
  - {name: drop-files, type: file, path: DROP}
routes:
  - {name: all, alerts: "*", to: [drop-files], max_alert_age: 40}
"""
FIRST, LAST = "2023-10", "2024-07"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    data = generate(customers=700, months=20, seed=5, end=END)
    folder = tmp_path_factory.mktemp("alerts")
    project = parse_project(PROJECT.replace("DROP", str(folder / "drop")))
    ws = segmento.connect(folder / "shop.duckdb", project)
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        assert ws.ingest(name, getattr(data, name)).rejected == 0
    ws.fit_segmentation("value", END)
    reports = ws.backfill(FIRST, LAST)
    orders = data.orders.to_pandas()
    yield ws, reports, orders, data
    ws.close()


def expected_alerts(ws, orders: pd.DataFrame) -> set[tuple[str, date, str]]:
    """The rules read by hand over the snapshot table."""
    snaps = snapshots(ws.con).to_pandas()
    periods = sorted(snaps.period.unique())
    seg = snaps.pivot(index="customer_id", columns="period", values="segment_rank")
    value = snaps.pivot(index="customer_id", columns="period", values="value")
    first_order = orders.ordered_at.min().date()
    complete = [p for p in periods if (pd.Timestamp(p) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date() >= first_order]
    rank = {"very_good": 1, "good": 2}
    out = set()
    feats = {p: features_by_hand(orders, p) for p in periods}
    for i in range(1, len(periods)):
        before, now = periods[i - 1], periods[i]
        if before not in complete or now not in complete:
            continue
        was = seg[before].dropna()
        for customer, r in was.items():
            after = seg.at[customer, now]
            down = pd.isna(after) or after > r
            if r in rank.values() and down:
                vb, va = value.at[customer, before], value.at[customer, now]
                if (0.0 if pd.isna(va) else va) <= vb * 0.7:
                    out.add(("drop", now, customer))
            if r in rank.values():
                f_now, f_then = feats[now], feats[before]

                def overdue(f):
                    if customer not in f.index or pd.isna(f.at[customer, "interval"]):
                        return False
                    return f.at[customer, "recency_days"] > 2 * f.at[customer, "interval"]

                if overdue(f_now) and not overdue(f_then):
                    out.add(("overdue", now, customer))
        if i >= 2 and periods[i - 2] in complete:
            start = seg[periods[i - 2]]
            for customer in start[start == 1].index:
                later = [seg.at[customer, p] for p in (before, now)]
                if all(pd.isna(x) or x > 1 for x in later):
                    out.add(("stays-down", now, customer))
    return out


def test_rules_fire_exactly_on_the_changes_they_describe(base):
    ws, reports, orders, _ = base
    stored = ws.alerts().to_pandas()
    found = {(r.rule, r.period, r.customer_id) for r in stored.itertuples()}
    expected = expected_alerts(ws, orders)
    assert {r for r, _, _ in expected} == {"drop", "stays-down", "overdue"}
    assert found == expected
    assert sum(r.alerts for r in reports) == len(stored)


def test_each_alert_carries_the_figures_that_moved(base):
    ws, _, orders, _ = base
    stored = ws.alerts().to_pandas()
    for period, rows in stored.groupby("period"):
        before = (pd.Timestamp(period) - pd.offsets.MonthEnd(1)).date()
        now = features_by_hand(orders, period)
        for row in rows.itertuples():
            then = features_by_hand(orders, before)
            figures = json.loads(row.figures)
            if row.rule == "stays-down":  # the move is read from two periods back
                then = features_by_hand(orders, (pd.Timestamp(before) - pd.offsets.MonthEnd(1)).date())
            spend_before = then.spend_12m.get(row.customer_id, 0.0)
            spend_after = now.spend_12m.get(row.customer_id, 0.0)
            assert figures["spend_12m"] == pytest.approx([spend_before, spend_after])
            recency = now.recency_days.get(row.customer_id)
            if row.rule == "overdue":  # a condition trigger reports its features before and after
                assert figures["recency_days"] == [then.recency_days.get(row.customer_id), recency]
            else:
                assert figures["recency_days"] == recency
            shown = re.match(r"12-month spend ([\d,]+) -> ([\d,]+)", row.reason)
            assert [float(x.replace(",", "")) for x in shown.groups()] == pytest.approx([spend_before, spend_after], abs=0.5)
            assert f"last order {recency:,.0f} days ago" in row.reason
            if row.rule == "overdue":
                interval = now.interval[row.customer_id]
                assert figures["order_interval_days"][1] == pytest.approx(interval)
                assert recency > 2 * interval and f"usually every {round(interval)} days" in row.reason


def test_periods_with_incomplete_windows_are_flagged_and_raise_nothing(base):
    ws, reports, orders, _ = base
    first_order = orders.ordered_at.min().date()
    checks = ws.period_checks("value").to_pandas().set_index("period")
    for report in reports:
        reaches_back = (pd.Timestamp(report.period) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date()
        incomplete = reaches_back < first_order
        assert bool(checks.at[pd.Timestamp(report.period), "complete"]) is not incomplete
        assert ("value" in report.incomplete) is incomplete
        if incomplete:
            assert report.alerts == 0 and "incomplete windows" in str(report)
            assert str(first_order) in report.incomplete["value"]
    assert any(r.incomplete for r in reports) and not all(r.incomplete for r in reports)


def test_a_snapshot_past_the_last_data_is_refused_unless_forced(base):
    ws, _, orders, data = base
    last = max(orders.ordered_at.max(), data.events.to_pandas().occurred_at.max()).date()
    after = (pd.Timestamp(last) + pd.offsets.MonthEnd(1)).date()
    with pytest.raises(NotReadyError, match=f"after the last loaded order or event \\({last}\\).*--force"):
        ws.snapshot(after)
    with pytest.raises(NotReadyError):
        ws.backfill("2024-08", after.strftime("%Y-%m"))
    assert after not in ws.periods("value")


def test_history_is_not_news_and_alerts_list_the_latest_period_first(base):
    ws, _, _, _ = base
    outbox = activation_outbox(ws.con)
    assert outbox.count().execute() == 0, "a backfill queues nothing for journeys by default"
    listed = ws.alerts().to_pandas()
    assert list(listed.period) == sorted(listed.period, reverse=True)
    latest = listed[listed.period == listed.period.max()]
    assert list(latest.priority) == sorted(latest.priority, reverse=True)
    totals = ws.alert_totals()
    by_hand = listed.groupby(["period", "kind", "rule"]).agg(alerts=("alert_id", "size"), value_at_stake=("priority", "sum"))
    merged = totals.set_index(["period", "kind", "rule"]).sort_index()
    pd.testing.assert_frame_equal(merged, by_hand.sort_index(), check_dtype=False)

    # asked to deliver, a backfill queues its new alerts
    ws.backfill("2024-08", "2024-08", deliver=True)
    queued = outbox.to_pandas()
    stored = ws.alerts().to_pandas().set_index("alert_id")
    of = {p.date(): set(stored.index[stored.period == p]) for p in stored.period.unique()}
    assert len(queued) > 0 and set(queued.source_id) == of[END]
    payload = json.loads(queued.payload.iloc[0])
    alert = stored.loc[queued.source_id.iloc[0]]
    assert payload["reason"] == alert.reason and payload["figures"] == json.loads(alert.figures)
    # a route sends no alert older than its max age (40 days before the newest data, 2024-08-31)
    assert ws.enqueue_alerts("2024-06") == 0
    assert ws.enqueue_alerts("2024-07") == len(of[date(2024, 7, 31)]) > 0


def test_the_cli_shows_reasons_totals_and_refuses_stale_snapshots(base, tmp_path):
    from typer.testing import CliRunner

    from segmento.cli import app

    ws, _, _, _ = base
    db = ws.con.con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    config = tmp_path / "segmento.yaml"
    config.write_text(PROJECT.replace("DROP", str(tmp_path / "drop")), encoding="utf-8")
    runner = CliRunner()
    shown = runner.invoke(app, ["alerts", "--limit", "5", "--db", db, "--config", str(config)], env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    for alert in ws.alerts(limit=5).to_pyarrow().to_pylist():  # one table row each: who, which rule, why
        cells = [[c.strip() for c in line.split("│")] for line in lines if alert["customer_id"] in line]
        assert [[c[1], c[3], c[-2]] for c in cells] == [[str(alert["period"]), alert["rule"], alert["reason"]]]
    assert "totals per period, kind and rule" in shown.output
    stale = runner.invoke(app, ["snapshot", "--as-of", "2024-10", "--db", db, "--config", str(config)])
    assert stale.exit_code == 2 and "--force" in stale.output and "after the last loaded order or event" in stale.output


def test_alerts_and_models_say_the_same_from_the_file_as_through_the_workspace(base, tmp_path):
    """`alerts` and `models` read a DuckDB file at this layout directly (plain SQL, no Ibis); while this process
    holds the base they go through its Ibis connection. A checkpointed copy read directly says the same,
    and the totals equal a GROUP BY written here."""
    import shutil

    from typer.testing import CliRunner

    from segmento.cli import app

    ws, _, _, _ = base
    raw = ws.con.con
    held = raw.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    raw.execute("CHECKPOINT")
    copy = shutil.copy(held, tmp_path / "copy.duckdb")
    config = tmp_path / "segmento.yaml"
    config.write_text(PROJECT.replace("DROP", str(tmp_path / "drop")), encoding="utf-8")
    runner = CliRunner()
    asks = [["alerts", "--limit", "7"], ["alerts", "--kind", "negative", "--period", "2024-07"],
            ["alerts", "--rule", "overdue", "--limit", "3"], ["models", "value"]]

    def outputs(db: str) -> list[str]:
        done = [runner.invoke(app, [*ask, "--db", db, "--config", str(config)], env={"COLUMNS": "300"}) for ask in asks]
        assert [d.exit_code for d in done] == [0] * len(asks), [d.output for d in done]
        return [d.output for d in done]

    through_ibis, direct = outputs(held), outputs(str(copy))
    assert direct == through_ibis
    totals = raw.execute("select kind, rule, count(*), sum(priority) from alerts where period = '2024-07-31' "
                         "and kind = 'negative' group by all order by rule").fetchall()
    shown = re.findall(r"^│ 2024-07-31 │ negative +│ (\S+) +│ +([\d,]+) │ +([\d,]+) │$", direct[1], re.M)
    assert shown == [(rule, f"{n:,}", f"{round(stake):,}") for _, rule, n, stake in totals] and shown
    version = raw.execute("select max(version) from segmentation_models where name = 'value'").fetchone()[0]
    assert f"value v{version} [tiers] as of {END}: very_good (Very good)" in direct[3]
