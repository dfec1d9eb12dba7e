"""The campaigns' section: which campaigns worked, for which segment, measured against their control group.

Shared by the HTML report and the dashboard's Campaigns page.
"""

from __future__ import annotations

import plotly.graph_objects as go

from segmento import formatting as fmt
from segmento.campaigns.results import CampaignResults, uplift_text
from segmento.campaigns.stats import Uplift
from segmento.errors import NotReadyError
from segmento.report import charts, views
from segmento.report.sections import Cell, Section, Table, Tile
from segmento.workspace import Workspace

LATEST = 6  # campaigns shown, most recent first


def default_segmentation(ws: Workspace) -> str | None:
    """The first segmentation with a snapshot: results read by the segments customers were in at the send."""
    return next((name for name in views.fitted_segmentations(ws) if ws.periods(name)), None)


def launched(ws: Workspace) -> list[str]:
    """Campaigns with targets drawn, most recent first."""
    targets = ws.campaigns.targets()
    rows = targets.group_by("campaign_id").agg(last=targets.sent_at.max()).order_by(["last", "campaign_id"])
    return [r["campaign_id"] for r in reversed(rows.to_pyarrow().to_pylist())]


def campaigns(ws: Workspace, segmentation: str | None = None, level: float = 0.95) -> Section:
    """Per campaign, treated vs control in total and per segment; a chart of conversion uplift per segment."""
    section = Section("Campaigns: uplift against the control group", anchor="campaigns")
    ids = launched(ws)
    if not ids:
        section.notes.append("No campaign launched yet: declare one under `campaigns:` in segmento.yaml and run "
                             "`segmento campaign launch ID` (journeys on alert rules start with the alerts).")
        return section
    segmentation = segmentation or default_segmentation(ws)
    found = [ws.campaigns.results(cid, segmentation, level) for cid in ids[:LATEST]]
    section.tiles = [Tile(r.campaign_id, fmt.points(r.total.conversion.difference),
                          f"conversion uplift: {r.total.conversion.verdict}") for r in found]
    section.figures.append(uplift_chart(found, level))
    if segmentation:
        section.tables.append(worked_table(found, segmentation))
    for results in found:
        section.tables.append(results_table(results))
    for cid in ids[:LATEST]:
        if ws.campaigns.get(cid).alert is not None:
            moves = journey_table(ws, cid, level)
            section.tables.extend([moves] if isinstance(moves, Table) else [])
            section.notes.extend([moves] if isinstance(moves, str) else [])
    section.notes.append(
        f"Treated (sent) against control (held out at random, never sent), orders within each campaign's "
        f"attribution window after the send; {level:.0%} intervals (two proportions for rates, bootstrap for "
        "revenue). 'Not significant' means the interval holds zero: the data cannot tell the campaign "
        "made a difference." + (f" Segments of {segmentation} at the send." if segmentation else ""))
    return section


def with_campaigns(ws: Workspace, portraits: Section, segmentation: str) -> Section:
    """A segmentation's portraits, followed by which campaigns worked for each of its segments (when any
    campaign was launched and the segmentation has snapshots to read the segments at the send)."""
    ids = launched(ws)
    if ids and ws.periods(segmentation):
        found = [ws.campaigns.results(cid, segmentation) for cid in ids[:LATEST]]
        portraits.tables.append(worked_table(found, segmentation))
    return portraits


def results_table(results: CampaignResults) -> Table:
    rows = []
    for group in (results.total, *results.segments):
        rows.append([Cell(group.label, tip=group.segment), fmt.count(group.treated), fmt.count(group.control),
                     fmt.count(group.reached), f"{fmt.count(group.responded[0])} / {fmt.count(group.responded[1])}",
                     f"{fmt.percent(group.conversion.treated)} / {fmt.percent(group.conversion.control)}",
                     uplift_text(group.conversion),
                     f"{fmt.money(group.revenue.treated, digits=2)} / {fmt.money(group.revenue.control, digits=2)}",
                     uplift_text(group.revenue, money=True)])
    return Table(["segment", "treated", "control", "reached", "responded (T / C)", "conversion (T / C)",
                  "conversion uplift", "revenue per customer (T / C)", "revenue uplift"], rows,
                 f"{results.campaign_id}: orders within {results.attribution_days} days of the send",
                 numeric=(1, 2, 3))


def journey_table(ws: Workspace, campaign_id: str, level: float = 0.95) -> Table | str:
    """A journey on an alert rule: where treated and control customers were one period after their
    alert (transition probabilities out of the segment they slid to), and who moved back up."""
    try:
        moves = ws.campaigns.journey_moves(campaign_id, level=level)
    except NotReadyError as exc:
        return f"{campaign_id}: {exc}"
    probabilities, counts = moves.probabilities, moves.counts
    later = list(probabilities.columns)
    rows = [[arm, fmt.count(counts.loc[arm].sum()), *(fmt.percent(probabilities.loc[arm, c]) for c in later)]
            for arm in ("treated", "control") if arm in probabilities.index]
    return Table(["group", "customers", *later], rows,
                 f"{campaign_id}: segment of {moves.segmentation} {moves.after} period(s) after the alert, treated vs "
                 f"control; moved back up: {uplift_text(moves.moved_up)}", numeric=tuple(range(1, 2 + len(later))))


def worked_table(found: list[CampaignResults], segmentation: str) -> Table:
    """Which campaigns worked for each segment: conversion uplift, marked when significant."""
    labels = list(dict.fromkeys(g.label for r in found for g in r.segments))
    cells = {(r.campaign_id, g.label): g.conversion for r in found for g in r.segments}

    def cell(uplift: Uplift | None) -> Cell:
        if uplift is None or uplift.difference_low is None:
            return Cell(fmt.MISSING, tip="too few customers to tell")
        text = fmt.points(uplift.difference) + (" worked" if uplift.significant and uplift.difference > 0 else "")
        return Cell(text, tip=uplift.verdict, cls="num")

    rows = [[label, *(cell(cells.get((r.campaign_id, label))) for r in found)] for label in labels]
    return Table(["segment", *(r.campaign_id for r in found)], rows,
                 f"which campaigns worked for each segment of {segmentation}: conversion uplift (significant: worked)")


def uplift_chart(found: list[CampaignResults], level: float) -> go.Figure:
    """Conversion uplift (points) per segment, one marker series per campaign, with its interval."""
    fig = go.Figure()
    for results in found:
        groups = [g for g in (results.total, *results.segments) if g.conversion.difference is not None]
        fig.add_trace(go.Scatter(
            name=results.campaign_id, mode="markers", x=[g.label for g in groups],
            y=[100 * g.conversion.difference for g in groups],
            error_y=dict(type="data", symmetric=False,
                         array=[100 * (g.conversion.difference_high - g.conversion.difference) for g in groups],
                         arrayminus=[100 * (g.conversion.difference - g.conversion.difference_low) for g in groups]),
            hovertemplate="%{x}: %{y:+.1f} pt<extra>" + results.campaign_id + "</extra>"))
    fig.add_hline(y=0, line_width=1, line_color="#888")
    fig.update_layout(yaxis_title="conversion uplift (points)", scattermode="group")
    return charts._layout(fig, f"conversion uplift per segment, treated minus control ({level:.0%} intervals)")
