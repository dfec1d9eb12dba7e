"""The HTML report: `segmento report` (build_report on the workspace) writes one
self-contained file with the dashboard's views, small enough to mail, read by an analyst:
the data's date and headline figures first, segment names (not ids), formatted numbers,
moves coloured by direction. Expected values are counted again in DuckDB here."""

from __future__ import annotations

import json
import re
from pathlib import Path

from datetime import datetime

import duckdb
import pytest
from service_support import END, PROJECT
from typer.testing import CliRunner

import segmento
from segmento.cli import app
from segmento.config import parse_project
from segmento.report import palette
from segmento.report.views import LOST_NAME, NEW_NAME

RFM_IDS = ("cant_lose", "at_risk", "about_to_sleep", "need_attention", "potential_loyalists")


def figures(html: str) -> list[dict]:
    return [json.loads(text.replace("<\\/", "</"))
            for text in re.findall(r'<script type="application/json" id="s[^"]+">(.*?)</script>', html, re.S)]


def titled(drawn: list[dict], start: str) -> dict:
    return next(f for f in drawn if f["layout"].get("title", {}).get("text", "").startswith(start))


@pytest.fixture(scope="module")
def report(base, tmp_path_factory) -> tuple[str, Path]:
    directory = tmp_path_factory.mktemp("report")
    config = directory / "segmento.yaml"
    config.write_text(PROJECT)
    db = base.copy(directory)
    with segmento.connect(db, parse_project(PROJECT)) as ws:
        ws.refresh_audiences(datetime(2025, 1, 31, 23, 59))  # a second month of audience history
    out = directory / "out" / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--db", str(db), "--config", str(config)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    return out.read_text(encoding="utf-8"), db


def test_the_report_is_one_small_offline_file_with_every_chart(report) -> None:
    html, _ = report
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)  # the document, without inlined code
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup), "the report must open without a network"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html) and "Plotly.newPlot" in html
    assert len(html.encode("utf-8")) < 2_000_000
    assert html.count("plotly.js v") == 1  # one Plotly bundle, shared by every chart
    drawn = figures(html)
    kinds = [fig["data"][0]["type"] for fig in drawn]
    # per segmentation: mix, transition heatmap, Sankey, portrait bars and index heatmap; audiences; alerts
    assert kinds.count("sankey") == 2 and kinds.count("heatmap") == 5
    assert all("template" not in fig["layout"] for fig in drawn)  # the chart template is sent once
    titles = " ".join(fig["layout"]["title"]["text"] for fig in drawn)
    for expected in ("rfm: segment mix", "value: transitions 2024-11-30 → 2024-12-31", "Audience overlaps",
                     "Trajectory alerts per period"):
        assert expected in titles


def test_the_report_opens_on_the_data_date_and_headline_figures(report) -> None:
    html, db = report
    with duckdb.connect(str(db), read_only=True) as con:
        base = con.execute("SELECT count(*) FROM customers WHERE signup_date <= ?", [END]).fetchone()[0]
        december = con.execute("SELECT sum(amount) FROM orders WHERE ordered_at >= '2024-12-01' "
                               "AND ordered_at < '2025-01-01'").fetchone()[0]
        active = con.execute("SELECT count(DISTINCT customer_id) FROM orders WHERE ordered_at > "
                             "TIMESTAMP '2024-01-01 23:59:59.999999' AND ordered_at < '2025-01-01'").fetchone()[0]
    assert "data as of <strong>2024-12-31</strong>" in html
    header = html[html.index("<header>"):html.index("</header>")]
    with duckdb.connect(str(db), read_only=True) as con:
        events_behind = con.execute("SELECT date_diff('day', max(occurred_at)::DATE, DATE '2024-12-31') "
                                    "FROM events").fetchone()[0]
    shown = "up to date" if events_behind <= 1 else f"{events_behind:,} days behind"
    assert f"<span>events: {shown}</span>" in header or f'<span class="stale">events: {shown}</span>' in header
    assert all(f"{source}: " in header for source in ("customers", "orders", "consents"))
    headline = html[html.index('id="headline"'):html.index('id="mix-')]
    assert f'<div class="tile-value">{base:,}</div><div class="tile-label">customers in the base' in headline
    assert f'<div class="tile-value">{active:,}</div><div class="tile-label">active customers' in headline
    assert f'<div class="tile-value">€{december:,.0f}</div><div class="tile-label">revenue in December 2024' in headline
    for source in ("customers", "orders", "events", "consents"):
        assert f"<td>{source}</td>" in headline  # freshness of each source


def test_segments_are_named_and_moves_coloured_by_direction(report) -> None:
    html, db = report
    with duckdb.connect(str(db), read_only=True) as con:
        ranks = dict(con.execute("SELECT segment_label, min(segment_rank) FROM snapshot_segments "
                                 "WHERE segmentation = 'rfm' GROUP BY 1").fetchall())
    drawn = figures(html)
    heatmap = titled(drawn, "rfm: transitions")["data"][0]
    shown = [*heatmap["x"], *heatmap["y"]]
    assert not any(segment_id in " ".join(shown) for segment_id in RFM_IDS)
    assert heatmap["y"][0] == NEW_NAME and heatmap["x"][-1].replace("<br>", " ") == LOST_NAME
    assert any("€" in cell for row in heatmap["text"] for cell in row)  # revenue per cell
    sankey = titled(drawn, "rfm: trajectories")["data"][0]
    names = [name for _period, name in sankey["node"]["customdata"]]
    assert "-" not in names and NEW_NAME in names
    checked = 0
    for source, target, colour in zip(sankey["link"]["source"], sankey["link"]["target"], sankey["link"]["color"]):
        a, b = names[source], names[target]
        if a in ranks and b in ranks:
            expected = "up" if ranks[b] < ranks[a] else "down" if ranks[b] > ranks[a] else "stay"
            assert colour.startswith(palette.rgba(palette.MOVES[expected], 0)[:-2]), (a, b, colour)
            checked += 1
        elif a == NEW_NAME:
            assert colour.startswith(palette.rgba(palette.MOVES["new"], 0)[:-2])
    assert checked > 5
    by_column: dict[str, list[int]] = {}
    for (period, name) in sankey["node"]["customdata"]:
        if name in ranks:
            by_column.setdefault(period, []).append(ranks[name])
    assert all(column == sorted(column) for column in by_column.values())  # best to worst, top to bottom
    changed = html[html.index('id="trajectories-rfm"'):html.index('id="portraits-rfm"')]
    paths = re.findall(r"<tr><td>([^<]*→[^<]*)</td>", changed)
    assert paths and all(len(set(p.split(" → "))) > 1 for p in paths)  # only paths that changed


def test_portrait_indexes_are_printed_uncapped_with_missing_shown(report) -> None:
    html, _ = report
    heat = titled(figures(html), "what sets them apart")["data"][0]
    texts = [t for row in heat["text"] for t in row]
    numbers = [float(t.replace(",", "")) for t in texts if t != "n/a"]
    assert numbers and all(re.fullmatch(r"[\d,]+", t) or t == "n/a" for t in texts)
    ratios = [abs(z) for row in heat["z"] for z in row if z is not None]
    assert heat["zmax"] >= max(ratios) and heat["zmin"] <= -max(ratios)  # nothing clipped
    assert heat.get("zmid") == 0


def test_alerts_are_latest_first_with_totals(report) -> None:
    html, db = report
    with duckdb.connect(str(db), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
    part = html[html.index('id="alerts"'):]
    assert f'<div class="tile-value">{total:,}</div><div class="tile-label">alerts matched' in part
    periods = re.findall(r"<tr><td>(\d{4}-\d{2}-\d{2})</td>", part)
    assert periods and periods == sorted(periods, reverse=True)
    with duckdb.connect(str(db), read_only=True) as con:
        raised = [str(p) for (p,) in con.execute("SELECT DISTINCT period::DATE FROM alerts ORDER BY 1").fetchall()]
    chart = titled(figures(html), "Trajectory alerts per period")
    assert chart["layout"]["xaxis"]["categoryarray"] == raised  # dates, in time order, whatever kind comes first
    assert {x for trace in chart["data"] for x in trace["x"]} == set(raised)


def test_audiences_show_rules_trend_entries_and_exits(report) -> None:
    html, db = report
    with duckdb.connect(str(db), read_only=True) as con:
        moves = con.execute(
            "SELECT audience, strftime(date_trunc('month', \"at\"), '%Y-%m') AS month, "
            "count(*) FILTER (WHERE kind = 'enter') AS entries, count(*) FILTER (WHERE kind = 'exit') AS exits "
            "FROM audience_changes GROUP BY ALL ORDER BY audience, month").fetchall()
    members: dict[str, int] = {}
    expected: dict[str, list[tuple[str, int]]] = {}
    for audience, month, entries, exits in moves:
        members[audience] = members.get(audience, 0) + entries - exits
        expected.setdefault(audience, []).append((month, members[audience]))
    trend = titled(figures(html), "Audience sizes over time")["data"]
    assert {t["name"]: list(zip(t["x"], t["y"])) for t in trend} == expected
    part = html[html.index('id="audiences"'):html.index('id="alerts"')]
    assert "spend_12m &gt; 300" in part  # the rule as written
    january = {a: (e, x) for a, m, e, x in moves if m == "2025-01"}
    for audience, (entries, exits) in january.items():
        assert f"+{entries:,} / −{exits:,} (2025-01)" in part, audience
    moves_chart = titled(figures(html), "Entries and exits per period")["data"]
    assert [t["name"] for t in moves_chart] == ["entries", "exits"]
